package storage

import (
	"container/list"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/seal"
)

// Options configure a Service.
type Options struct {
	// Box seals credentials at rest. Required.
	Box *seal.Box
	// AllowPrivateEndpoints is the operator setting (--allow-private-endpoints)
	// that lets endpoints reach loopback, private and link-local addresses.
	// By default they are refused when an integration is created and again
	// at dial time, against DNS rebinding.
	AllowPrivateEndpoints bool
	// Timeout bounds each provider call of Validate (default 10s).
	Timeout time.Duration
	// HTTPClient is an optional base: its Transport, when an
	// *http.Transport, is cloned and given the guarded dialer. Another
	// RoundTripper is used as it is (and is not guarded).
	HTTPClient *http.Client
	// MaxOpenBuckets bounds the cache of opened buckets (default 256).
	MaxOpenBuckets int
}

// DefaultTimeout is Options.Timeout's default.
const DefaultTimeout = 10 * time.Second

// Service keeps an organisation's storage integrations and opens their
// buckets. It is safe for concurrent use.
type Service struct {
	store     labelhub.StorageStore
	box       *seal.Box
	allowPriv bool
	timeout   time.Duration
	transport http.RoundTripper
	client    *http.Client // plain requests (CORS preflight), guarded

	mu      sync.Mutex
	max     int
	entries map[string]*list.Element // storage id → *cacheEntry in lru
	lru     *list.List               // front: most recently used
}

type cacheEntry struct {
	id      string
	updated time.Time
	bucket  *Bucket
}

// NewService returns a Service over store.
func NewService(store labelhub.StorageStore, opts Options) *Service {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxOpenBuckets <= 0 {
		opts.MaxOpenBuckets = 256
	}
	t := newTransport(opts.HTTPClient, opts.AllowPrivateEndpoints)
	return &Service{
		store:     store,
		box:       opts.Box,
		allowPriv: opts.AllowPrivateEndpoints,
		timeout:   opts.Timeout,
		transport: t,
		client: &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		max:     opts.MaxOpenBuckets,
		entries: map[string]*list.Element{},
		lru:     list.New(),
	}
}

// sealAD is the associated data that binds sealed credentials to their row.
func sealAD(orgID, id string) []byte { return []byte(orgID + "/" + id) }

// Create checks in (shape, then endpoint), seals its credentials and
// stores the integration. The returned Storage carries no secret.
func (s *Service) Create(ctx context.Context, orgID, userID string, in labelhub.StorageInput) (labelhub.Storage, error) {
	if s.box == nil {
		return labelhub.Storage{}, labelhub.Errorf(labelhub.ECodeInternal, "storage: no secret key configured")
	}
	if err := in.Validate(); err != nil {
		return labelhub.Storage{}, err
	}
	if err := checkEndpoint(ctx, in.Endpoint, s.allowPriv); err != nil {
		return labelhub.Storage{}, err
	}
	if in.Provider == labelhub.ProviderAzure && in.Credentials.ConnectionString != "" {
		conn, _ := labelhub.ParseAzureConnectionString(in.Credentials.ConnectionString)
		if conn.BlobEndpoint != "" {
			if err := checkEndpoint(ctx, conn.BlobEndpoint, s.allowPriv); err != nil {
				e := err.(*labelhub.Error)
				e.Details[0].Path = "credentials.connectionString"
				e.Details[0].Message = "BlobEndpoint " + e.Details[0].Message
				return labelhub.Storage{}, e
			}
		}
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	st := labelhub.Storage{
		ID:               labelhub.NewID(),
		OrgID:            orgID,
		Name:             in.Name,
		Provider:         in.Provider,
		Bucket:           in.Bucket,
		Region:           in.Region,
		Endpoint:         in.Endpoint,
		PathStyle:        in.PathStyle || in.Provider == labelhub.ProviderS3Compatible,
		Delivery:         in.Delivery,
		SignedURLTTL:     in.SignedURLTTL,
		CredentialFields: in.Credentials.SetFields(),
		CreatedBy:        userID,
		CreatedAt:        now,
		UpdatedAt:        now,
	}
	if in.Provider == labelhub.ProviderAzure {
		st.AccountName = in.Credentials.AccountName
	}
	plain, err := json.Marshal(in.Credentials)
	if err != nil {
		return labelhub.Storage{}, err
	}
	rec := labelhub.StorageRecord{Storage: st, SealedCredentials: s.box.Seal(plain, sealAD(orgID, st.ID))}
	clear(plain)
	if err := s.store.CreateStorage(ctx, rec); err != nil {
		return labelhub.Storage{}, err
	}
	return st, nil
}

// Get returns one integration of the organisation, without credentials.
func (s *Service) Get(ctx context.Context, orgID, id string) (labelhub.Storage, error) {
	rec, err := s.store.GetStorage(ctx, orgID, id)
	return rec.Storage, err
}

// List lists the organisation's integrations.
func (s *Service) List(ctx context.Context, orgID string, p labelhub.PageRequest) (labelhub.Page[labelhub.Storage], error) {
	return s.store.ListStorages(ctx, orgID, p)
}

// Delete removes an integration and closes its open bucket, if any.
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	if err := s.store.DeleteStorage(ctx, orgID, id); err != nil {
		return err
	}
	s.mu.Lock()
	if el, ok := s.entries[id]; ok {
		s.removeLocked(el)
	}
	s.mu.Unlock()
	return nil
}

// Bucket returns the opened bucket of an integration. Buckets are cached by
// integration id and updatedAt: a changed integration is opened again and
// the old bucket closed once no operation uses it any more.
func (s *Service) Bucket(ctx context.Context, orgID, id string) (*Bucket, error) {
	rec, err := s.store.GetStorage(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if el, ok := s.entries[id]; ok {
		e := el.Value.(*cacheEntry)
		if e.updated.Equal(rec.UpdatedAt) && e.bucket.Storage.OrgID == orgID {
			s.lru.MoveToFront(el)
			s.mu.Unlock()
			return e.bucket, nil
		}
		s.removeLocked(el)
	}
	s.mu.Unlock()

	b, err := s.open(ctx, rec)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.entries[id]; ok {
		// Opened meanwhile by another caller: keep theirs if it is as fresh.
		e := el.Value.(*cacheEntry)
		if e.updated.Equal(rec.UpdatedAt) {
			b.conn.evict()
			s.lru.MoveToFront(el)
			return e.bucket, nil
		}
		s.removeLocked(el)
	}
	s.entries[id] = s.lru.PushFront(&cacheEntry{id: id, updated: rec.UpdatedAt, bucket: b})
	for s.lru.Len() > s.max {
		s.removeLocked(s.lru.Back())
	}
	return b, nil
}

// removeLocked drops a cache entry; its bucket closes when idle.
func (s *Service) removeLocked(el *list.Element) {
	e := s.lru.Remove(el).(*cacheEntry)
	delete(s.entries, e.id)
	e.bucket.conn.evict()
}

// Close closes every cached bucket (each once it is idle).
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.lru.Len() > 0 {
		s.removeLocked(s.lru.Front())
	}
	return nil
}

// open decrypts the credentials of rec and opens its bucket.
func (s *Service) open(ctx context.Context, rec labelhub.StorageRecord) (*Bucket, error) {
	if s.box == nil {
		return nil, labelhub.Errorf(labelhub.ECodeInternal, "storage: no secret key configured")
	}
	plain, err := s.box.Open(rec.SealedCredentials, sealAD(rec.OrgID, rec.ID))
	if err != nil {
		return nil, labelhub.Errorf(labelhub.ECodeInternal,
			"the credentials of storage integration %q cannot be decrypted: the hub's secret key (%s) is not the one they were sealed with", rec.Name, seal.EnvKey)
	}
	var creds labelhub.StorageCredentials
	err = json.Unmarshal(plain, &creds)
	clear(plain)
	if err != nil {
		return nil, labelhub.Errorf(labelhub.ECodeInternal, "the credentials of storage integration %q are not readable", rec.Name)
	}
	return openBucket(ctx, rec.Storage, creds, s)
}
