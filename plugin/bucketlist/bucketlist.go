package bucketlist

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"os"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/s3blob"

	"github.com/labelhub/labelhub/storage/assetref"
)

// Page sizes of List.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Bucket is an open bucket URL.
type Bucket struct {
	b      *blob.Bucket
	prefix string
	in     assetref.Integration
}

// Object is a file of the bucket.
type Object struct {
	Key     string    // the object key
	Name    string    // the key below the bucket URL's prefix
	Size    int64     // bytes
	ModTime time.Time // when it was last written
	// URL is the object's asset URL (formats.md §1): <endpoint>/<bucket>/<key>
	// for S3-compatible stores, https://<bucket>.s3.<region>.amazonaws.com/<key>
	// for S3, https://storage.googleapis.com/<bucket>/<key> for GCS and
	// https://<account>.blob.core.windows.net/<container>/<blob> for Azure.
	URL string
}

// Folder is one page of one folder level.
type Folder struct {
	Folders       []string // sub-folders, relative to the prefix, ending in "/"
	Files         []Object
	NextPageToken string // "" on the last page
}

// Open opens a bucket URL (see the package's documentation).
func Open(ctx context.Context, bucketURL string) (*Bucket, error) {
	u, err := url.Parse(bucketURL)
	if err != nil {
		return nil, fmt.Errorf("bucketlist: %q is not a bucket URL: %w", bucketURL, err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("bucketlist: %q names no bucket: write s3://bucket/prefix, gs://bucket/prefix or azblob://container/prefix", bucketURL)
	}
	prefix := strings.TrimPrefix(u.Path, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	q := u.Query()
	bk := &Bucket{prefix: prefix}
	open := &url.URL{Scheme: u.Scheme, Host: u.Host}
	switch u.Scheme {
	case s3blob.Scheme:
		region := q.Get("region")
		if region == "" {
			region = os.Getenv("AWS_REGION")
		}
		if region == "" {
			region = "us-east-1"
		}
		oq := url.Values{"region": {region}}
		bk.in = assetref.Integration{Provider: assetref.S3, Bucket: u.Host, Region: region}
		if ep := q.Get("endpoint"); ep != "" {
			if e, err := url.Parse(ep); err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return nil, fmt.Errorf("bucketlist: endpoint %q is not a URL like http://127.0.0.1:9000", ep)
			}
			oq.Set("endpoint", ep)
			oq.Set("use_path_style", "true")
			bk.in = assetref.Integration{Provider: assetref.S3Compatible, Bucket: u.Host, Region: region, Endpoint: ep, PathStyle: true}
		}
		open.RawQuery = oq.Encode()
	case gcsblob.Scheme:
		bk.in = assetref.Integration{Provider: assetref.GCS, Bucket: u.Host}
		if h := os.Getenv("STORAGE_EMULATOR_HOST"); h != "" {
			if !strings.Contains(h, "://") {
				h = "http://" + h
			}
			bk.in.Endpoint = h
		}
		open.RawQuery = u.RawQuery
	case azureblob.Scheme:
		bk.in = assetref.Integration{Provider: assetref.Azure, Bucket: u.Host, Account: os.Getenv("AZURE_STORAGE_ACCOUNT")}
		open.RawQuery = u.RawQuery
	default:
		return nil, fmt.Errorf("bucketlist: %q: the scheme must be s3, gs or azblob", bucketURL)
	}
	if bk.b, err = blob.OpenBucket(ctx, open.String()); err != nil {
		return nil, fmt.Errorf("bucketlist: open %s: %w", bucketURL, err)
	}
	return bk, nil
}

// Close releases the bucket.
func (b *Bucket) Close() error { return b.b.Close() }

// Prefix is the bucket URL's prefix ("" or ending in "/").
func (b *Bucket) Prefix() string { return b.prefix }

// URL is the asset URL of an object key (formats.md §1).
func (b *Bucket) URL(key string) string { return assetref.URL(b.in, key) }

// folderKey checks a folder relative to the prefix and gives its key
// prefix.
func (b *Bucket) folderKey(folder string) (string, error) {
	if folder == "" {
		return b.prefix, nil
	}
	if strings.HasPrefix(folder, "/") || strings.Contains(folder, "//") {
		return "", fmt.Errorf("bucketlist: folder %q: folders are relative to the bucket URL's prefix, without a leading or doubled /", folder)
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(folder, "/"), "/") {
		if seg == "." || seg == ".." {
			return "", fmt.Errorf("bucketlist: folder %q has a %q segment", folder, seg)
		}
	}
	if !strings.HasSuffix(folder, "/") {
		folder += "/"
	}
	return b.prefix + folder, nil
}

func (b *Bucket) object(o *blob.ListObject) Object {
	return Object{Key: o.Key, Name: strings.TrimPrefix(o.Key, b.prefix), Size: o.Size, ModTime: o.ModTime.UTC(), URL: b.URL(o.Key)}
}

// List reads one page (pageSize 0: 100, at most 1000) of one level of
// folder (relative to the bucket URL's prefix; "" is the prefix itself):
// its sub-folders and its files. Pass the previous page's NextPageToken
// for the next page. Keys ending in "/" (folder markers) are not files,
// so a page may hold fewer entries than pageSize.
func (b *Bucket) List(ctx context.Context, folder, pageToken string, pageSize int) (Folder, error) {
	key, err := b.folderKey(folder)
	if err != nil {
		return Folder{}, err
	}
	if pageSize == 0 {
		pageSize = DefaultPageSize
	}
	if pageSize < 1 || pageSize > MaxPageSize {
		return Folder{}, fmt.Errorf("bucketlist: page size %d is not from 1 to %d", pageSize, MaxPageSize)
	}
	tok := blob.FirstPageToken
	if pageToken != "" {
		if tok, err = base64.RawURLEncoding.DecodeString(pageToken); err != nil || len(tok) == 0 {
			return Folder{}, fmt.Errorf("bucketlist: %q is not a page token of this listing; start again without it", pageToken)
		}
	}
	objs, next, err := b.b.ListPage(ctx, tok, pageSize, &blob.ListOptions{Prefix: key, Delimiter: "/"})
	if err != nil && !errors.Is(err, io.EOF) {
		return Folder{}, fmt.Errorf("bucketlist: list %q: %w", key, err)
	}
	f := Folder{Folders: []string{}, Files: []Object{}}
	if len(next) > 0 {
		f.NextPageToken = base64.RawURLEncoding.EncodeToString(next)
	}
	for _, o := range objs {
		switch {
		case o.IsDir:
			f.Folders = append(f.Folders, strings.TrimPrefix(o.Key, b.prefix))
		case !strings.HasSuffix(o.Key, "/"):
			f.Files = append(f.Files, b.object(o))
		}
	}
	return f, nil
}

// Walk yields every object under folder (relative to the prefix), at any
// depth, in key order, one page in memory at a time; folder markers are
// skipped. An error ends the walk and is yielded with a zero Object.
func (b *Bucket) Walk(ctx context.Context, folder string) iter.Seq2[Object, error] {
	return func(yield func(Object, error) bool) {
		key, err := b.folderKey(folder)
		if err != nil {
			yield(Object{}, err)
			return
		}
		tok := blob.FirstPageToken
		for len(tok) > 0 {
			objs, next, err := b.b.ListPage(ctx, tok, MaxPageSize, &blob.ListOptions{Prefix: key})
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(Object{}, fmt.Errorf("bucketlist: list %q: %w", key, err))
				return
			}
			for _, o := range objs {
				if o.IsDir || strings.HasSuffix(o.Key, "/") {
					continue
				}
				if !yield(b.object(o), nil) {
					return
				}
			}
			tok = next
		}
	}
}
