package storage

import (
	"context"
	"encoding/base64"
	"errors"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gocloud.dev/blob"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage/assetref"
)

// provider is what a Bucket needs of one kind of object store beyond
// gocloud.dev/blob: reads and signing with the bucket's own keys.
type provider interface {
	// read opens key, whole or one range, honouring cond where the provider
	// can (otherwise object.notModified is judged by the caller).
	read(ctx context.Context, key string, rg *byteRange, cond conditions) (*object, error)
	stat(ctx context.Context, key string) (objectInfo, error)
	// signURL signs a GET of key at t0, valid for valid.
	signURL(key string, t0 time.Time, valid time.Duration) (string, error)
	// objectURL is the unsigned URL of key.
	objectURL(key string) string
	// beforeList makes a listing use prefix as is (see doc.go) and, with
	// once, makes one attempt only (Validate reports the first failure
	// instead of retrying until its timeout).
	beforeList(prefix string, once bool) func(func(any) bool) error
	// listed returns the provider's own name of a listed object or prefix.
	listed(o *blob.ListObject) (name, contentType string)
	// location says where the bucket is, for messages: a region or a URL.
	location() string
	close() error
}

// objectInfo is what the hub passes on about an object.
type objectInfo struct {
	Size            int64 // of the whole object
	ContentType     string
	ETag            string // quoted, as the provider gives it
	ModTime         time.Time
	CacheControl    string
	ContentEncoding string
}

// object is an opened read.
type object struct {
	body          io.ReadCloser // nil when notModified
	info          objectInfo
	start, length int64 // of the body within the object
	partial       bool  // a range was asked for
	notModified   bool
}

// byteRange is one range of an object: start < 0 means the last -start
// bytes; length < 0 means to the end.
type byteRange struct{ start, length int64 }

func (r byteRange) header() string {
	switch {
	case r.start < 0:
		return "bytes=" + strconv.FormatInt(r.start, 10)
	case r.length < 0:
		return "bytes=" + strconv.FormatInt(r.start, 10) + "-"
	default:
		return "bytes=" + strconv.FormatInt(r.start, 10) + "-" + strconv.FormatInt(r.start+r.length-1, 10)
	}
}

// parseContentRange reads "bytes a-b/total".
func parseContentRange(s string) (start, length, total int64, ok bool) {
	s, ok = strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, 0, false
	}
	r, t, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, 0, false
	}
	a, b, ok := strings.Cut(r, "-")
	if !ok {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	start, err1 = strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	total, err3 = strconv.ParseInt(t, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || end < start {
		return 0, 0, 0, false
	}
	return start, end - start + 1, total, true
}

// conditions are a request's cache validators.
type conditions struct {
	ifNoneMatch     string
	ifModifiedSince time.Time
}

// matches reports whether info satisfies the validators, that is, whether
// the answer is 304 Not Modified.
func (c conditions) matches(info objectInfo) bool {
	if c.ifNoneMatch != "" {
		return etagListMatches(c.ifNoneMatch, info.ETag)
	}
	if !c.ifModifiedSince.IsZero() && !info.ModTime.IsZero() {
		return !info.ModTime.Truncate(time.Second).After(c.ifModifiedSince)
	}
	return false
}

// etagListMatches does the weak comparison of If-None-Match.
func etagListMatches(list, etag string) bool {
	if etag == "" {
		return false
	}
	if strings.TrimSpace(list) == "*" {
		return true
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(list, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == want {
			return true
		}
	}
	return false
}

// Bucket is an opened storage integration. It is safe for concurrent use.
// A Bucket stays usable while the Service replaces it in its cache: it is
// closed when its last operation ends.
type Bucket struct {
	Storage labelhub.Storage

	bkt  *blob.Bucket
	p    provider
	conn *conn
	svc  *Service
}

// conn counts the operations that use a bucket's clients, so that an
// evicted bucket closes only once idle.
type conn struct {
	mu      sync.Mutex
	refs    int
	evicted bool
	closed  bool
	closeFn func()
}

var errBucketClosed = labelhub.Errorf(labelhub.ECodeUnavailable, "the storage integration was changed or deleted meanwhile; try again")

func (c *conn) acquire() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errBucketClosed
	}
	c.refs++
	return nil
}

func (c *conn) release() {
	c.mu.Lock()
	c.refs--
	done := c.refs == 0 && c.evicted && !c.closed
	if done {
		c.closed = true
	}
	c.mu.Unlock()
	if done {
		c.closeFn()
	}
}

func (c *conn) evict() {
	c.mu.Lock()
	c.evicted = true
	done := c.refs == 0 && !c.closed
	if done {
		c.closed = true
	}
	c.mu.Unlock()
	if done {
		c.closeFn()
	}
}

func openBucket(ctx context.Context, st labelhub.Storage, creds labelhub.StorageCredentials, svc *Service) (*Bucket, error) {
	var (
		bkt *blob.Bucket
		p   provider
		err error
	)
	switch st.Provider {
	case labelhub.ProviderS3, labelhub.ProviderS3Compatible:
		var sp *s3Provider
		bkt, sp, err = openS3(ctx, st, creds, svc)
		p = sp
	case labelhub.ProviderGCS:
		var gp *gcsProvider
		bkt, gp, err = openGCS(ctx, st, creds, svc)
		p = gp
	case labelhub.ProviderAzure:
		var ap *azureProvider
		bkt, ap, err = openAzure(ctx, st, creds, svc)
		p = ap
	default:
		return nil, labelhub.Errorf(labelhub.ECodeInternal, "storage integration %q has an unknown provider %q", st.Name, st.Provider)
	}
	if err != nil {
		return nil, labelhub.Errorf(labelhub.ECodeUnavailable, "storage integration %q cannot be opened: %s", st.Name, err)
	}
	b := &Bucket{Storage: st, bkt: bkt, p: p, svc: svc}
	b.conn = &conn{closeFn: func() {
		_ = bkt.Close()
		_ = p.close()
	}}
	return b, nil
}

// Integration is what storage/assetref needs to resolve the URLs of this
// bucket's objects.
func (b *Bucket) Integration() assetref.Integration {
	return IntegrationOf(b.Storage)
}

// IntegrationOf returns the assetref view of a storage integration.
func IntegrationOf(st labelhub.Storage) assetref.Integration {
	return assetref.Integration{
		Provider:  assetref.Provider(st.Provider),
		Bucket:    st.Bucket,
		Region:    st.Region,
		Endpoint:  st.Endpoint,
		PathStyle: st.PathStyle,
		Account:   st.AccountName,
	}
}

// checkKey refuses keys no provider can have.
func checkKey(key string) error {
	switch {
	case key == "":
		return labelhub.Invalid("invalid object key", labelhub.FieldError{Path: "key", Message: "is empty"})
	case len(key) > assetref.MaxKeyLen:
		return labelhub.Invalid("invalid object key", labelhub.FieldError{Path: "key", Message: "is longer than 1024 bytes"})
	case !utf8.ValidString(key):
		return labelhub.Invalid("invalid object key", labelhub.FieldError{Path: "key", Message: "is not valid UTF-8"})
	}
	return nil
}

// signWindow is the granularity of signed URLs' start times; see doc.go.
const signWindow = time.Minute

// window returns the start and lifetime of a URL signed now for ttl: the
// start of the current minute and ttl plus a minute, so URLs asked for
// within one minute are equal; at the maximum lifetime, now and ttl.
func window(now time.Time, ttl time.Duration) (time.Time, time.Duration) {
	if ttl+signWindow > labelhub.MaxSignedURLTTL*time.Second {
		return now.Truncate(time.Second), ttl
	}
	return now.Truncate(signWindow), ttl + signWindow
}

// SignedURL returns a URL that GETs key without credentials for at least
// ttl (0: the integration's signedUrlTtlSeconds) and at most a minute more.
// It does not call the provider.
func (b *Bucket) SignedURL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	if ttl == 0 {
		ttl = time.Duration(b.Storage.SignedURLTTL) * time.Second
	}
	if ttl < time.Second || ttl > labelhub.MaxSignedURLTTL*time.Second {
		return "", labelhub.Invalid("invalid signed URL lifetime", labelhub.FieldError{Path: "ttl",
			Message: "must be between 1 second and 7 days"})
	}
	t0, valid := window(time.Now(), ttl)
	u, err := b.p.signURL(key, t0, valid)
	if err != nil {
		return "", labelhub.Errorf(labelhub.ECodeInternal, "cannot sign a URL for storage integration %q: %s", b.Storage.Name, err)
	}
	return u, nil
}

// File is an object of a listing.
type File struct {
	Key         string    `json:"key"`
	Size        int64     `json:"size"`
	ModTime     time.Time `json:"modTime"`
	ContentType string    `json:"contentType,omitempty"` // GCS and Azure list it; S3 does not
}

// Folder is one page of one folder level.
type Folder struct {
	Folders       []string `json:"folders"` // full prefixes, ending in "/"
	Files         []File   `json:"files"`
	NextPageToken string   `json:"nextPageToken,omitempty"`
}

// Page sizes of ListFolder.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// pageToken wraps the provider's token with a hash of the prefix it was
// made for, so a token reused for another folder is refused instead of
// giving a wrong page.
func pageToken(prefix string, provider []byte) string {
	if len(provider) == 0 {
		return ""
	}
	h := fnv.New32a()
	h.Write([]byte(prefix))
	return base64.RawURLEncoding.EncodeToString(append(h.Sum(nil), provider...))
}

func parsePageToken(prefix, token string) ([]byte, error) {
	if token == "" {
		return blob.FirstPageToken, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	h := fnv.New32a()
	h.Write([]byte(prefix))
	if err != nil || len(raw) <= 4 || string(raw[:4]) != string(h.Sum(nil)) {
		return nil, labelhub.Invalid("invalid page token", labelhub.FieldError{Path: "pageToken",
			Message: "is not a token returned by a listing of this folder; start again without it"})
	}
	return raw[4:], nil
}

// ListFolder lists one level of the folder prefix (delimiter "/"): its
// sub-folders and its files, a page at a time (pageSize 0: 100; at most
// 1000). A non-empty prefix gets a trailing "/". Keys ending in "/" (folder
// markers made by consoles) are not files and are left out, so a page may
// hold fewer entries than pageSize.
func (b *Bucket) ListFolder(ctx context.Context, prefix, token string, pageSize int) (Folder, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if pageSize == 0 {
		pageSize = DefaultPageSize
	}
	if pageSize < 1 || pageSize > MaxPageSize {
		return Folder{}, labelhub.Invalid("invalid page size", labelhub.FieldError{Path: "pageSize", Message: "must be between 1 and 1000"})
	}
	tok, err := parsePageToken(prefix, token)
	if err != nil {
		return Folder{}, err
	}
	if err := b.conn.acquire(); err != nil {
		return Folder{}, err
	}
	defer b.conn.release()
	if lp, ok := b.p.(pageLister); ok {
		if token == "" {
			tok = nil // not gocloud's FirstPageToken
		}
		files, dirs, next, err := lp.listPage(ctx, prefix, "/", tok, pageSize)
		if err != nil {
			return Folder{}, b.opError(err, "list", prefix)
		}
		f := Folder{Folders: []string{}, Files: make([]File, 0, len(files)), NextPageToken: pageToken(prefix, next)}
		f.Folders = append(f.Folders, dirs...)
		for _, file := range files {
			if !strings.HasSuffix(file.Key, "/") {
				f.Files = append(f.Files, file)
			}
		}
		return f, nil
	}
	objs, next, err := b.bkt.ListPage(ctx, tok, pageSize, &blob.ListOptions{
		Prefix: prefix, Delimiter: "/", BeforeList: b.p.beforeList(prefix, false),
	})
	if err != nil {
		return Folder{}, b.opError(err, "list", prefix)
	}
	f := Folder{Folders: []string{}, Files: []File{}, NextPageToken: pageToken(prefix, next)}
	for _, o := range objs {
		name, ct := b.p.listed(o)
		if o.IsDir {
			f.Folders = append(f.Folders, name)
			continue
		}
		if strings.HasSuffix(name, "/") {
			continue
		}
		f.Files = append(f.Files, File{Key: name, Size: o.Size, ModTime: o.ModTime.UTC(), ContentType: ct})
	}
	return f, nil
}

// walkPageSize is the page size of Walk: the most every provider gives.
const walkPageSize = 1000

// Walk calls fn for every object under prefix (any depth), in the
// provider's order, one page in memory at a time. Folder markers (keys
// ending in "/") are skipped. An error from fn stops the walk and is
// returned as is.
func (b *Bucket) Walk(ctx context.Context, prefix string, fn func(File) error) error {
	if err := b.conn.acquire(); err != nil {
		return err
	}
	defer b.conn.release()
	if lp, ok := b.p.(pageLister); ok {
		var tok []byte
		for {
			files, _, next, err := lp.listPage(ctx, prefix, "", tok, walkPageSize)
			if err != nil {
				return b.opError(err, "list", prefix)
			}
			for _, f := range files {
				if strings.HasSuffix(f.Key, "/") {
					continue
				}
				if err := fn(f); err != nil {
					return err
				}
			}
			if len(next) == 0 {
				return nil
			}
			tok = next
		}
	}
	tok := blob.FirstPageToken
	for len(tok) > 0 {
		objs, next, err := b.bkt.ListPage(ctx, tok, walkPageSize, &blob.ListOptions{
			Prefix: prefix, BeforeList: b.p.beforeList(prefix, false),
		})
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return b.opError(err, "list", prefix)
		}
		for _, o := range objs {
			name, ct := b.p.listed(o)
			if o.IsDir || strings.HasSuffix(name, "/") {
				continue
			}
			if err := fn(File{Key: name, Size: o.Size, ModTime: o.ModTime.UTC(), ContentType: ct}); err != nil {
				return err
			}
		}
		tok = next
	}
	return nil
}
