package storage

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/storage"
	"gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
	"google.golang.org/api/option"

	"github.com/labelhub/labelhub"
)

// googleTokenURL is where service-account JWTs are exchanged for tokens.
// The key file's own token_uri is not used: it is user input, and the hub
// would POST to it.
const googleTokenURL = "https://oauth2.googleapis.com/token"

// gcsProvider reads GCS buckets with the storage client and signs V4 URLs
// with the service account's RSA key.
type gcsProvider struct {
	client *storage.Client
	bucket string
	where  string
	email  string
	key    *rsa.PrivateKey
	ts     oauth2.TokenSource // nil with an Endpoint (no authentication)
	conf   *jwt.Config        // nil with an Endpoint
	hc     *http.Client       // guarded, for token exchanges

	// Signed URLs: host and scheme of the URL, and a base path to insert
	// when the endpoint has one.
	hostname string
	insecure bool
	basePath string

	cache urlCache
}

func parseRSAKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("no PEM private key")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, errors.New("the private key is not an RSA key")
	}
	return x509.ParsePKCS1PrivateKey(block.Bytes)
}

func openGCS(ctx context.Context, st labelhub.Storage, creds labelhub.StorageCredentials, svc *Service) (*blob.Bucket, *gcsProvider, error) {
	sa, msg := labelhub.ParseServiceAccount(creds.ServiceAccountJSON)
	if msg != "" {
		return nil, nil, fmt.Errorf("service account key %s", msg)
	}
	key, err := parseRSAKey(sa.PrivateKey)
	if err != nil {
		return nil, nil, err
	}
	key.Precompute()
	p := &gcsProvider{bucket: st.Bucket, email: sa.ClientEmail, key: key, hostname: "storage.googleapis.com", where: "https://storage.googleapis.com"}
	hc := &http.Client{Transport: svc.transport}
	var opts []option.ClientOption
	if st.Endpoint != "" {
		u, err := url.Parse(st.Endpoint)
		if err != nil {
			return nil, nil, err
		}
		base := strings.TrimSuffix(st.Endpoint, "/")
		p.where = base
		p.hostname = u.Host
		p.insecure = u.Scheme == "http"
		p.basePath = strings.TrimSuffix(u.EscapedPath(), "/")
		opts = []option.ClientOption{option.WithEndpoint(base + "/storage/v1/"), option.WithoutAuthentication(), option.WithHTTPClient(hc)}
	} else {
		p.conf = &jwt.Config{
			Email:        sa.ClientEmail,
			PrivateKey:   []byte(sa.PrivateKey),
			PrivateKeyID: sa.PrivateKeyID,
			Scopes:       []string{storage.ScopeReadOnly},
			TokenURL:     googleTokenURL,
		}
		p.hc = hc
		p.ts = p.conf.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, hc))
		authed := &http.Client{Transport: &oauth2.Transport{Source: p.ts, Base: svc.transport}}
		// WithTokenSource keeps the client from looking for default
		// credentials; WithHTTPClient makes it use the guarded transport.
		opts = []option.ClientOption{option.WithTokenSource(p.ts), option.WithHTTPClient(authed)}
	}
	p.client, err = storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, nil, err
	}
	b, err := gcsblob.OpenBucket(ctx, nil, st.Bucket, &gcsblob.Options{
		Client:         p.client,
		GoogleAccessID: sa.ClientEmail,
		SignBytes:      p.signBytes,
	})
	if err != nil {
		p.client.Close()
		return nil, nil, err
	}
	return b, p, nil
}

func (p *gcsProvider) signBytes(b []byte) ([]byte, error) {
	sum := sha256.Sum256(b)
	return rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
}

func (p *gcsProvider) location() string { return p.where }

// signURL signs a V4 URL. RSA signing costs about a millisecond, so URLs
// are cached for their window: the same key asked again within it gets the
// same URL.
func (p *gcsProvider) signURL(key string, t0 time.Time, valid time.Duration) (string, error) {
	if u, ok := p.cache.get(key, t0, valid); ok {
		return u, nil
	}
	u, err := storage.SignedURL(p.bucket, key, &storage.SignedURLOptions{
		GoogleAccessID: p.email,
		SignBytes:      p.signBytes,
		Method:         http.MethodGet,
		Expires:        t0.Add(valid),
		Scheme:         storage.SigningSchemeV4,
		Style:          storage.PathStyle(),
		Hostname:       p.hostname,
		Insecure:       p.insecure,
	})
	if err != nil {
		return "", err
	}
	if p.basePath != "" {
		// An endpoint with a base path: the signature covers the path
		// without it (fake-gcs-server and GCS-compatible proxies serve
		// objects at <endpoint>/<bucket>/<key>). fake-gcs-server does not
		// check signatures at all.
		i := strings.Index(u, "://") + 3
		i += strings.IndexByte(u[i:], '/')
		u = u[:i] + p.basePath + u[i:]
	}
	p.cache.put(key, t0, valid, u)
	return u, nil
}

func (p *gcsProvider) objectURL(key string) string {
	scheme := "https"
	if p.insecure {
		scheme = "http"
	}
	return scheme + "://" + p.hostname + p.basePath + "/" + escapePath(p.bucket) + "/" + escapePath(key)
}

func gcsETag(gen int64) string { return fmt.Sprintf(`"%d"`, gen) }

func (p *gcsProvider) read(ctx context.Context, key string, rg *byteRange, cond conditions) (*object, error) {
	obj := p.client.Bucket(p.bucket).Object(key).ReadCompressed(true)
	off, n := int64(0), int64(-1)
	if rg != nil {
		off, n = rg.start, rg.length
	}
	r, err := obj.NewRangeReader(ctx, off, n)
	if err != nil {
		return nil, err
	}
	a := r.Attrs
	o := &object{body: r, info: objectInfo{
		Size:            a.Size,
		ContentType:     a.ContentType,
		ETag:            gcsETag(a.Generation),
		ModTime:         a.LastModified,
		CacheControl:    a.CacheControl,
		ContentEncoding: a.ContentEncoding,
	}, start: a.StartOffset, length: r.Remain(), partial: rg != nil}
	// GCS takes no If-None-Match on reads through this client: judge the
	// condition here, before any byte of the body is read.
	if cond.matches(o.info) {
		r.Close()
		o.body, o.notModified = nil, true
	}
	return o, nil
}

func (p *gcsProvider) stat(ctx context.Context, key string) (objectInfo, error) {
	a, err := p.client.Bucket(p.bucket).Object(key).Attrs(ctx)
	if err != nil {
		return objectInfo{}, err
	}
	return objectInfo{Size: a.Size, ContentType: a.ContentType, ETag: gcsETag(a.Generation), ModTime: a.Updated,
		CacheControl: a.CacheControl, ContentEncoding: a.ContentEncoding}, nil
}

func (p *gcsProvider) beforeList(prefix string, _ bool) func(func(any) bool) error {
	return func(as func(any) bool) error {
		var q *storage.Query
		if as(&q) {
			q.Prefix = prefix
			_ = q.SetAttrSelection([]string{"Name", "Size", "Updated", "ContentType", "Prefix", "MD5"})
		}
		return nil
	}
}

func (p *gcsProvider) listed(o *blob.ListObject) (name, contentType string) {
	var a storage.ObjectAttrs
	if o.As(&a) {
		if a.Prefix != "" {
			return a.Prefix, ""
		}
		return a.Name, a.ContentType
	}
	return o.Key, ""
}

func (p *gcsProvider) close() error { return p.client.Close() }

// urlCache keeps the signed URLs of the current window, up to a bound.
type urlCache struct {
	mu     sync.Mutex
	window int64
	urls   map[urlCacheKey]string
}

type urlCacheKey struct {
	key   string
	valid time.Duration
}

const urlCacheMax = 50_000

func (c *urlCache) get(key string, t0 time.Time, valid time.Duration) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.window != t0.Unix() {
		return "", false
	}
	u, ok := c.urls[urlCacheKey{key, valid}]
	return u, ok
}

func (c *urlCache) put(key string, t0 time.Time, valid time.Duration, u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.window != t0.Unix() {
		c.window, c.urls = t0.Unix(), make(map[urlCacheKey]string)
	}
	if len(c.urls) < urlCacheMax {
		c.urls[urlCacheKey{key, valid}] = u
	}
}
