package storage

import (
	"context"
	"net/http"
	"time"

	"gocloud.dev/blob"
)

// GocloudSignedURL signs through gocloud.dev/blob (the AWS SDK presigner,
// azblob's SAS, the storage client's V4), for comparison in benchmarks.
func GocloudSignedURL(ctx context.Context, b *Bucket, key string, ttl time.Duration) (string, error) {
	return b.bkt.SignedURL(ctx, key, &blob.SignedURLOptions{Method: http.MethodGet, Expiry: ttl})
}
