package storage

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"

	"github.com/labelhub/labelhub"
)

// s3Provider reads S3 and S3-compatible buckets with the AWS SDK's client,
// and signs with sigV4.
type s3Provider struct {
	client *s3.Client
	bucket string
	where  string // "us-east-1" or the endpoint, for messages
	sign   *sigV4
}

// s3Region is the region an integration signs for.
func s3Region(st labelhub.Storage) string {
	if st.Region == "" {
		return "us-east-1"
	}
	return st.Region
}

// s3Layout returns how URLs of the bucket look: the scheme, the host and
// the escaped path before a key. It follows storage/assetref.URL.
func s3Layout(st labelhub.Storage) (scheme, host, prefix string, pathStyle bool) {
	region := s3Region(st)
	if st.Endpoint != "" {
		u, _ := url.Parse(st.Endpoint)
		host = u.Host
		if (u.Scheme == "http" && u.Port() == "80") || (u.Scheme == "https" && u.Port() == "443") {
			host = u.Hostname()
			if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
		}
		base := strings.TrimSuffix(u.EscapedPath(), "/")
		return u.Scheme, host, base + "/" + escapePath(st.Bucket) + "/", true
	}
	suffix := ".amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix = ".amazonaws.com.cn"
	}
	if st.PathStyle || strings.Contains(st.Bucket, ".") {
		return "https", "s3." + region + suffix, "/" + escapePath(st.Bucket) + "/", true
	}
	return "https", st.Bucket + ".s3." + region + suffix, "/", false
}

func openS3(ctx context.Context, st labelhub.Storage, creds labelhub.StorageCredentials, svc *Service) (*blob.Bucket, *s3Provider, error) {
	region := s3Region(st)
	scheme, host, prefix, pathStyle := s3Layout(st)
	cfg := aws.Config{
		Region:                     region,
		Credentials:                credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
		HTTPClient:                 &http.Client{Transport: svc.transport},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 2 * time.Second
				o.RateLimiter = ratelimit.None
			})
		},
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if st.Endpoint != "" {
			o.BaseEndpoint = aws.String(st.Endpoint)
		}
		o.UsePathStyle = pathStyle
	})
	b, err := s3blob.OpenBucket(ctx, client, st.Bucket, nil)
	if err != nil {
		return nil, nil, err
	}
	where := region
	if st.Endpoint != "" {
		where = st.Endpoint
	}
	p := &s3Provider{client: client, bucket: st.Bucket, where: where, sign: &sigV4{
		scheme: scheme, host: host, pathPrefix: prefix, region: region,
		accessKeyID: creds.AccessKeyID, secret: creds.SecretAccessKey, token: creds.SessionToken,
	}}
	return b, p, nil
}

func (p *s3Provider) location() string { return p.where }

func (p *s3Provider) signURL(key string, t0 time.Time, valid time.Duration) (string, error) {
	return p.sign.presign(key, t0, int64(valid/time.Second)), nil
}

func (p *s3Provider) objectURL(key string) string {
	return p.sign.scheme + "://" + p.sign.host + p.sign.pathPrefix + escapePath(key)
}

func (p *s3Provider) read(ctx context.Context, key string, rg *byteRange, cond conditions) (*object, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(p.bucket), Key: aws.String(key)}
	if rg != nil {
		in.Range = aws.String(rg.header())
	}
	if cond.ifNoneMatch != "" {
		in.IfNoneMatch = aws.String(cond.ifNoneMatch)
	} else if !cond.ifModifiedSince.IsZero() {
		in.IfModifiedSince = aws.Time(cond.ifModifiedSince)
	}
	out, err := p.client.GetObject(ctx, in)
	if err != nil {
		return nil, err
	}
	o := &object{body: out.Body, info: objectInfo{
		Size:            aws.ToInt64(out.ContentLength),
		ContentType:     aws.ToString(out.ContentType),
		ETag:            aws.ToString(out.ETag),
		ModTime:         aws.ToTime(out.LastModified),
		CacheControl:    aws.ToString(out.CacheControl),
		ContentEncoding: aws.ToString(out.ContentEncoding),
	}}
	o.length = o.info.Size
	if cr := aws.ToString(out.ContentRange); cr != "" {
		if start, length, total, ok := parseContentRange(cr); ok {
			o.start, o.length, o.info.Size, o.partial = start, length, total, true
		}
	}
	return o, nil
}

func (p *s3Provider) stat(ctx context.Context, key string) (objectInfo, error) {
	out, err := p.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(p.bucket), Key: aws.String(key)})
	if err != nil {
		return objectInfo{}, err
	}
	return objectInfo{
		Size:            aws.ToInt64(out.ContentLength),
		ContentType:     aws.ToString(out.ContentType),
		ETag:            aws.ToString(out.ETag),
		ModTime:         aws.ToTime(out.LastModified),
		CacheControl:    aws.ToString(out.CacheControl),
		ContentEncoding: aws.ToString(out.ContentEncoding),
	}, nil
}

func (p *s3Provider) beforeList(prefix string, once bool) func(func(any) bool) error {
	return func(as func(any) bool) error {
		var in *s3.ListObjectsV2Input
		if as(&in) {
			in.Prefix = nil
			if prefix != "" {
				in.Prefix = aws.String(prefix)
			}
		}
		var opts *[]func(*s3.Options)
		if once && as(&opts) {
			*opts = append(*opts, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
		}
		return nil
	}
}

func (p *s3Provider) listed(o *blob.ListObject) (name, contentType string) {
	var obj s3types.Object
	if o.As(&obj) {
		return aws.ToString(obj.Key), ""
	}
	var cp s3types.CommonPrefix
	if o.As(&cp) {
		return aws.ToString(cp.Prefix), ""
	}
	return o.Key, ""
}

func (p *s3Provider) close() error { return nil }
