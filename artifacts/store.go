package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Store keeps blobs by key. Keys are made by the Service: ids joined by
// "/", nothing a path could escape with.
type Store interface {
	// Put streams r to key, atomically: on any error (r failing, ctx
	// ending, more than maxBytes) nothing is left under key or elsewhere.
	// Over maxBytes the error is a *TooLargeError. It returns the size.
	Put(ctx context.Context, key string, r io.Reader, maxBytes int64) (int64, error)
	// Open returns the blob for reading; ErrNotFound when there is none.
	Open(ctx context.Context, key string) (Object, error)
	// Delete removes the blob; a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// Close releases the store's resources.
	Close() error
}

// Object is an open blob: seekable, so that downloads can serve ranges.
type Object interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// ErrNotFound says a key has no blob.
var ErrNotFound = errors.New("artifacts: no such blob")

// TooLargeError says an upload went over the cap; nothing was kept.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the file is larger than the limit of %d bytes (--artifact-max-bytes)", e.Limit)
}

// validKey accepts keys of the Service's shape: one or more segments of
// letters, digits, '-' and '_', joined by '/'.
func validKey(key string) error {
	if key == "" || len(key) > 512 {
		return fmt.Errorf("artifacts: bad key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" {
			return fmt.Errorf("artifacts: bad key %q", key)
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("artifacts: bad key %q", key)
			}
		}
	}
	return nil
}

// Location is a parsed --artifacts setting.
type Location struct {
	// Dir is the local folder (Local); empty for S3.
	Dir string
	// Bucket, Prefix, Endpoint and Region describe an S3 bucket. Prefix
	// ends with "/" unless empty.
	Bucket, Prefix, Endpoint, Region string
}

// ParseLocation reads the --artifacts setting: "" for dataDir/artifacts, a
// local folder (a path, or file:///path), or
// s3://bucket/prefix?endpoint=https://host:port&region=eu-west-1.
func ParseLocation(raw, dataDir string) (Location, error) {
	if raw == "" {
		return Location{Dir: filepath.Join(dataDir, "artifacts")}, nil
	}
	if !strings.Contains(raw, "://") {
		return Location{Dir: raw}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("--artifacts: %q is not a URL: use a folder, file:///path or s3://bucket/prefix?endpoint=…&region=…", raw)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" || u.Path == "" || u.RawQuery != "" {
			return Location{}, fmt.Errorf("--artifacts: %q: a file URL is file:///absolute/path", raw)
		}
		return Location{Dir: filepath.FromSlash(u.Path)}, nil
	case "s3":
	default:
		return Location{}, fmt.Errorf("--artifacts: scheme %q is not supported: use a folder, file:///path or s3://bucket/prefix", u.Scheme)
	}
	if u.User != nil {
		return Location{}, fmt.Errorf("--artifacts: put no credentials in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	l := Location{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	if !validBucket(l.Bucket) {
		return Location{}, fmt.Errorf("--artifacts: %q is not an S3 bucket name (3 to 63 lower-case letters, digits, '.' and '-')", l.Bucket)
	}
	if l.Prefix != "" {
		for _, seg := range strings.Split(l.Prefix, "/") {
			if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00") {
				return Location{}, fmt.Errorf("--artifacts: the prefix %q has an empty, '.', '..' or invalid segment", l.Prefix)
			}
		}
		l.Prefix += "/"
	}
	q := u.Query()
	for k := range q {
		if k != "endpoint" && k != "region" {
			return Location{}, fmt.Errorf("--artifacts: unknown parameter %q (endpoint and region are known)", k)
		}
	}
	l.Region, l.Endpoint = q.Get("region"), q.Get("endpoint")
	if l.Region == "" {
		l.Region = "us-east-1"
	}
	if l.Endpoint != "" {
		e, err := url.Parse(l.Endpoint)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || e.User != nil || e.RawQuery != "" || e.Fragment != "" {
			return Location{}, fmt.Errorf("--artifacts: endpoint %q must be an http:// or https:// URL", l.Endpoint)
		}
	}
	return l, nil
}

func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (c == '.' || c == '-') && i > 0 && i < len(b)-1
		if !ok {
			return false
		}
	}
	return true
}

// Open opens the store a Location names. S3 credentials come from the
// standard AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN).
func Open(ctx context.Context, l Location) (Store, error) {
	if l.Dir != "" {
		return NewLocal(l.Dir)
	}
	return NewS3(ctx, l, S3Credentials{})
}
