package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/seal"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/testservers"
)

// forEachStore runs fn on a fresh SQLite store and on a fresh PostgreSQL
// schema, so that every API behaviour is checked on both databases.
func forEachStore(t *testing.T, fn func(t *testing.T, s *sqlstore.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, openStore(t, filepath.Join(t.TempDir(), "labelhub.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, openStore(t, testservers.Postgres(t)))
	})
}

func openStore(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// hub is an API server on a real store, with the root organisation made
// the way `labelhub serve` makes it on first start.
type hub struct {
	t         *testing.T
	store     *sqlstore.Store
	api       *httpapi.Server
	srv       *httptest.Server
	rootOrg   labelhub.Organization
	rootAdmin labelhub.User
	rootKey   string
}

// newHub starts the API on s; cfg's Store and Logger are filled in.
func newHub(t *testing.T, s *sqlstore.Store, cfg httpapi.Config) *hub {
	t.Helper()
	org, admin, key, err := s.CreateOrg(context.Background(), labelhub.NewOrg{Name: "Root org", AdminEmail: "root@example.com", AdminName: "Root"}, true)
	if err != nil {
		t.Fatalf("create root org: %v", err)
	}
	cfg.Store = s
	if cfg.Storage == nil {
		box, err := seal.New(bytes.Repeat([]byte{9}, seal.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Storage = storage.NewService(s, storage.Options{Box: box, AllowPrivateEndpoints: true})
		t.Cleanup(func() { cfg.Storage.Close() })
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.Imports == nil {
		cfg.Imports = imports.New(imports.Config{Store: s, SpoolDir: t.TempDir(), Logger: cfg.Logger, Integrations: httpapi.StorageIntegrations(cfg.Storage),
			Buckets: cfg.Storage.Bucket})
		t.Cleanup(cfg.Imports.Close)
	}
	if cfg.Plugins == nil {
		cfg.Plugins = pluginhub.New(pluginhub.Config{Store: s, Logger: cfg.Logger, NewToken: sqlstore.NewRunToken, PollInterval: 20 * time.Millisecond})
		t.Cleanup(cfg.Plugins.Close)
		cfg.RunTokens = s
	}
	api := httpapi.New(cfg)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &hub{t: t, store: s, api: api, srv: srv, rootOrg: org, rootAdmin: admin, rootKey: key}
}

// response is an answer read in full.
type response struct {
	method, path string
	Status       int
	Header       http.Header
	Body         []byte
}

func (r response) String() string {
	return r.method + " " + r.path + " → " + http.StatusText(r.Status) + ": " + strings.TrimSpace(string(r.Body))
}

// reqOpt changes a request before it is sent.
type reqOpt func(*http.Request)

func bearer(key string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }
}

func apikeyHeader(key string) reqOpt {
	return func(r *http.Request) { r.Header.Set("apikey", key) }
}

func header(name, value string) reqOpt {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

func sessionCookie(token string) reqOpt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: token}) }
}

// call sends one request; path may carry escapes (they are kept as sent)
// and a query. body "" sends no body.
func (h *hub) call(method, path, body string, opts ...reqOpt) response {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	res, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{method: method, path: path, Status: res.StatusCode, Header: res.Header, Body: b}
}

// as sends a request with an API key as Bearer.
func (h *hub) as(key, method, path, body string) response {
	h.t.Helper()
	return h.call(method, path, body, bearer(key))
}

// must sends a request with key and fails the test unless it answers want;
// the body is decoded into out when out is not nil.
func (h *hub) must(key, method, path, body string, want int, out any) response {
	h.t.Helper()
	r := h.as(key, method, path, body)
	if r.Status != want {
		h.t.Fatalf("%s, want status %d", r, want)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			h.t.Fatalf("%s: decode: %v", r, err)
		}
	}
	return r
}

// apiError is the error shape; decoding refuses anything else.
type apiError struct {
	Error struct {
		Code    string                `json:"code"`
		Message string                `json:"message"`
		Details []labelhub.FieldError `json:"details"`
	} `json:"error"`
}

// wantError checks that r is an error answer with the given status and
// code, in the documented shape, and returns it.
func wantError(t *testing.T, r response, status int, code string) apiError {
	t.Helper()
	var e apiError
	if r.Status != status {
		t.Errorf("%s, want status %d (%s)", r, status, code)
		return e
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", r, ct)
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Errorf("%s: not the error shape: %v", r, err)
		return e
	}
	if e.Error.Code != code {
		t.Errorf("%s: code %q, want %q", r, e.Error.Code, code)
	}
	if e.Error.Message == "" {
		t.Errorf("%s: empty message", r)
	}
	return e
}

// wantDetail checks that e names path in its details, with a message
// containing msg, and returns that message.
func wantDetail(t *testing.T, r response, e apiError, path, msg string) string {
	t.Helper()
	for _, d := range e.Error.Details {
		if d.Path == path && strings.Contains(d.Message, msg) {
			return d.Message
		}
	}
	t.Errorf("%s: no detail at path %q with message containing %q", r, path, msg)
	return ""
}

var paramRE = regexp.MustCompile(`\{([A-Za-z0-9_]+)(\.\.\.)?\}`)

// routeParams returns the names of a route pattern's path parameters.
func routeParams(pattern string) []string {
	var names []string
	for _, m := range paramRE.FindAllStringSubmatch(pattern, -1) {
		names = append(names, m[1])
	}
	return names
}

// fillPattern replaces every {param} of pattern with value(param); the
// values are inserted as given (callers escape them if needed).
func fillPattern(pattern string, value func(param string) string) string {
	p := strings.ReplaceAll(pattern, "{$}", "")
	return paramRE.ReplaceAllStringFunc(p, func(m string) string {
		return value(paramRE.FindStringSubmatch(m)[1])
	})
}

// bodyFor is a plausible JSON body for a route that takes one: the
// isolation and authentication checks must not stop at body validation.
func bodyFor(rt httpapi.Route) string {
	if b, ok := routeBodies[rt.Method+" "+rt.Pattern]; ok {
		return b
	}
	switch rt.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
		return `{"name":"x"}`
	}
	return ""
}

// routeBodies overrides bodyFor for routes whose body has another shape.
// A route answering 404 for another organisation's id must do so before it
// looks at its body, so these only need to be plausible.
var routeBodies = map[string]string{
	"POST /api/v1/users":         `{"email":"someone@example.com","role":"labeler"}`,
	"POST /api/v1/organizations": `{"name":"x","adminEmail":"x-admin@example.com"}`,
}
