package storage

import (
	"context"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage/assetref"
)

// AssetSource is where the bytes behind one URL of an asset are read
// from: inline text (Text), a public URL read as it is (Public), or an
// object (Key) of a storage integration's Bucket.
type AssetSource struct {
	Text   bool
	Public string
	Bucket *Bucket
	Key    string
}

// ResolveAsset finds where rawURL, a URL (or the inline text) of an asset
// imported with integration storageID ("" for none), is read from. svc may
// be nil on a hub without storage integrations. The asset-content route
// and the metadata probe both resolve assets with it, so they agree on
// which object an asset is.
func ResolveAsset(ctx context.Context, svc *Service, orgID, storageID, rawURL string) (AssetSource, error) {
	if storageID == "" {
		ref, err := assetref.Resolve(rawURL, nil)
		if err != nil || !ref.Public {
			return AssetSource{Text: true}, nil
		}
		return AssetSource{Public: rawURL}, nil
	}
	if svc == nil {
		return AssetSource{}, labelhub.Errorf(labelhub.ECodeUnavailable, "storage integrations are not configured on this server")
	}
	b, err := svc.Bucket(ctx, orgID, storageID)
	if err != nil {
		return AssetSource{}, err
	}
	in := IntegrationOf(b.Storage)
	ref, err := assetref.Resolve(rawURL, &in)
	if err != nil {
		return AssetSource{}, labelhub.Errorf(labelhub.ECodeConflict, "the asset's URL no longer matches its storage integration: %v", err)
	}
	return AssetSource{Bucket: b, Key: ref.Key}, nil
}

// FetchURL returns a URL the hub itself may GET the bytes from: the public
// URL, or a URL of the object signed for ttl (0: the integration's
// signedUrlTtlSeconds). It is "" for inline text.
func (a AssetSource) FetchURL(ctx context.Context, ttl time.Duration) (string, error) {
	if a.Bucket == nil {
		return a.Public, nil
	}
	return a.Bucket.SignedURL(ctx, a.Key, ttl)
}
