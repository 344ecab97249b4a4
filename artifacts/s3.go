package artifacts

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

// S3Credentials are an access key; empty fields come from AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
type S3Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// S3 keeps blobs in an S3-compatible bucket under a prefix. An object
// exists only once its upload completed; an aborted (multipart) upload
// leaves nothing.
type S3 struct {
	bucket *blob.Bucket
	// Client is the SDK client, for tests that look behind the store.
	Client *s3.Client
	name   string
}

// NewS3 opens the bucket of l. The endpoint is the operator's own setting,
// so loopback and private addresses are allowed (a MinIO on the LAN).
func NewS3(ctx context.Context, l Location, c S3Credentials) (*S3, error) {
	if c.AccessKeyID == "" {
		c.AccessKeyID, c.SecretAccessKey, c.SessionToken = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return nil, fmt.Errorf("artifacts: s3://%s needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", l.Bucket)
	}
	cfg := aws.Config{
		Region:                     l.Region,
		Credentials:                credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
		HTTPClient:                 &http.Client{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if l.Endpoint != "" {
			o.BaseEndpoint = aws.String(l.Endpoint)
			o.UsePathStyle = true
		}
	})
	b, err := s3blob.OpenBucket(ctx, client, l.Bucket, nil)
	if err != nil {
		return nil, err
	}
	if l.Prefix != "" {
		b = blob.PrefixedBucket(b, l.Prefix)
	}
	return &S3{bucket: b, Client: client, name: l.Bucket}, nil
}

// Put implements Store. The writer's context is cancelled on any failure,
// which aborts the upload.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, maxBytes int64) (int64, error) {
	if err := validKey(key); err != nil {
		return 0, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Parts of 5 MiB (S3's least) or more, so that the cap fits in S3's
	// 10,000 parts; two in flight bound the memory an upload holds.
	part := max(5<<20, maxBytes/9000+1)
	w, err := s.bucket.NewWriter(wctx, key, &blob.WriterOptions{ContentType: "application/octet-stream", DisableContentTypeDetection: true,
		BufferSize: int(part), MaxConcurrency: 2})
	if err != nil {
		return 0, err
	}
	n, err := copyCapped(ctx, w, r, maxBytes)
	if err != nil {
		cancel()
		_ = w.Close()
		return n, err
	}
	if err := w.Close(); err != nil {
		return n, fmt.Errorf("artifacts: upload to s3://%s: %w", s.name, err)
	}
	return n, nil
}

type s3Object struct{ *blob.Reader }

// Open implements Store.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	if err := validKey(key); err != nil {
		return nil, err
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return s3Object{r}, nil
}

func (o s3Object) ModTime() time.Time { return o.Reader.ModTime() }

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return err
	}
	err := s.bucket.Delete(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil
	}
	return err
}

// Exists reports whether key has an object (for tests and checks).
func (s *S3) Exists(ctx context.Context, key string) (bool, error) {
	return s.bucket.Exists(ctx, key)
}

// Close implements Store.
func (s *S3) Close() error { return s.bucket.Close() }
