package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/seal"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage"
)

// hub is a real hub in-process: SQLite in a temp file behind the API.
type hub struct {
	URL     string
	RootKey string
}

func newHub(t *testing.T) hub {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	_, _, key, err := store.CreateOrg(ctx, labelhub.NewOrg{Name: "Root org", AdminEmail: "root@example.com", AdminName: "Root"}, true)
	if err != nil {
		t.Fatal(err)
	}
	box, err := seal.New(bytes.Repeat([]byte{5}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	storages := storage.NewService(store, storage.Options{Box: box, AllowPrivateEndpoints: true})
	t.Cleanup(func() { storages.Close() })
	runner := imports.New(imports.Config{Store: store, SpoolDir: t.TempDir(), BatchSize: 2, Integrations: httpapi.StorageIntegrations(storages),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Buckets: storages.Bucket})
	t.Cleanup(runner.Close)
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Store: store, Storage: storages, Imports: runner,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	return hub{URL: srv.URL, RootKey: key}
}

// counter counts requests by "METHOD path".
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[r.Method+" "+r.URL.Path]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

func ptr[T any](v T) *T { return &v }

func wantCode(t *testing.T, err error, code string) *labelhub.Error {
	t.Helper()
	if got := labelhub.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	var e *labelhub.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not a *labelhub.Error", err, err)
	}
	return e
}

func hasDetail(e *labelhub.Error, path string) bool {
	for _, d := range e.Details {
		if d.Path == path && d.Message != "" {
			return true
		}
	}
	return false
}

func collect[T any](t *testing.T, seq func(func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestMe(t *testing.T) {
	h := newHub(t)
	ctx := context.Background()
	// A trailing slash on the base URL is harmless.
	me, err := client.New(h.URL+"/", h.RootKey).Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.User.Email != "root@example.com" || me.Role != labelhub.RoleAdmin || !me.ServerAdmin || !me.Organization.Root || me.Organization.Name != "Root org" {
		t.Fatalf("me = %+v", me)
	}
	if me.User.ID == "" || me.User.OrgID != me.Organization.ID {
		t.Fatalf("me ids = %+v", me)
	}
}

func TestWrongKey(t *testing.T) {
	h := newHub(t)
	ctx := context.Background()
	for _, key := range []string{"lh_notARealKey", "", "garbage"} {
		_, err := client.New(h.URL, key).Me(ctx)
		e := wantCode(t, err, labelhub.ECodeUnauthorized)
		if e.Message == "" {
			t.Fatalf("key %q: empty message", key)
		}
		_, err = client.New(h.URL, key).ListProjects(ctx, labelhub.PageRequest{})
		wantCode(t, err, labelhub.ECodeUnauthorized)
	}
}

func TestOrganizations(t *testing.T) {
	h := newHub(t)
	ctx := context.Background()
	root := client.New(h.URL, h.RootKey)
	created, err := root.CreateOrganization(ctx, labelhub.NewOrg{Name: "Acme", AdminEmail: "boss@acme.test", AdminName: "Boss"})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.Name != "Acme" || created.Root || created.Admin.Email != "boss@acme.test" || created.Admin.Role != labelhub.RoleAdmin || created.Admin.OrgID != created.ID {
		t.Fatalf("created = %+v", created)
	}
	if !strings.HasPrefix(created.APIKey, "lh_") {
		t.Fatalf("admin key = %q", created.APIKey)
	}
	acme := client.New(h.URL, created.APIKey)
	me, err := acme.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.Organization.ID != created.ID || me.User.ID != created.Admin.ID || me.ServerAdmin {
		t.Fatalf("acme me = %+v", me)
	}

	orgs := collect(t, client.All(ctx, root.ListOrganizations))
	names := map[string]string{}
	for _, o := range orgs {
		names[o.ID] = o.Name
	}
	if len(orgs) != 2 || names[created.ID] != "Acme" {
		t.Fatalf("orgs = %+v", orgs)
	}

	// Only server admins manage organisations.
	_, err = acme.ListOrganizations(ctx, labelhub.PageRequest{})
	wantCode(t, err, labelhub.ECodeForbidden)
	_, err = acme.CreateOrganization(ctx, labelhub.NewOrg{Name: "Nope", AdminEmail: "x@y.test"})
	wantCode(t, err, labelhub.ECodeForbidden)

	// Validation details keep their paths.
	_, err = root.CreateOrganization(ctx, labelhub.NewOrg{Name: "", AdminEmail: "not-an-email"})
	e := wantCode(t, err, labelhub.ECodeInvalid)
	if !hasDetail(e, "name") {
		t.Fatalf("details = %+v", e.Details)
	}
}

func TestUsersAndAPIKeys(t *testing.T) {
	h := newHub(t)
	ctx := context.Background()
	c := client.New(h.URL, h.RootKey)
	me, err := c.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}

	u, err := c.CreateUser(ctx, labelhub.NewUser{Email: "Ann@Example.com", Name: "Ann", Role: labelhub.RoleLabeler, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID == "" || u.Email != "ann@example.com" || u.Role != labelhub.RoleLabeler || u.OrgID != me.Organization.ID {
		t.Fatalf("user = %+v", u)
	}
	got, err := c.GetUser(ctx, u.ID)
	if err != nil || got.ID != u.ID || got.Email != u.Email || got.Name != "Ann" {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}
	users := collect(t, client.All(ctx, c.ListUsers))
	if len(users) != 2 || !slices.ContainsFunc(users, func(x labelhub.User) bool { return x.ID == u.ID }) {
		t.Fatalf("users = %+v", users)
	}
	_, err = c.CreateUser(ctx, labelhub.NewUser{Email: "bob@example.com", Role: "overlord"})
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "role") {
		t.Fatalf("details = %+v", e.Details)
	}
	_, err = c.GetUser(ctx, "no-such-user")
	wantCode(t, err, labelhub.ECodeNotFound)

	// A key for Ann, made by the admin, authenticates as Ann.
	k, err := c.CreateAPIKey(ctx, "ann's script", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID == "" || k.UserID != u.ID || k.Name != "ann's script" || !strings.HasPrefix(k.Key, k.Prefix) || k.Prefix == "" || k.RevokedAt != nil {
		t.Fatalf("key = %+v", k)
	}
	ann := client.New(h.URL, k.Key)
	annMe, err := ann.Me(ctx)
	if err != nil || annMe.User.ID != u.ID || annMe.Role != labelhub.RoleLabeler {
		t.Fatalf("ann me = %+v, %v", annMe, err)
	}
	// A key for oneself (no user id).
	own, err := ann.CreateAPIKey(ctx, "", "")
	if err != nil || own.UserID != u.ID {
		t.Fatalf("own key = %+v, %v", own, err)
	}
	// A labeler may not make keys for others.
	_, err = ann.CreateAPIKey(ctx, "x", me.User.ID)
	wantCode(t, err, labelhub.ECodeForbidden)

	all := collect(t, client.All(ctx, c.ListAPIKeys))
	if len(all) != 3 { // root's initial key, and Ann's two
		t.Fatalf("admin sees %d keys: %+v", len(all), all)
	}
	annKeys := collect(t, client.All(ctx, func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.APIKey], error) {
		return c.ListUserAPIKeys(ctx, u.ID, p)
	}))
	if len(annKeys) != 2 || annKeys[0].UserID != u.ID || annKeys[1].UserID != u.ID {
		t.Fatalf("Ann's keys = %+v", annKeys)
	}
	mine := collect(t, client.All(ctx, ann.ListAPIKeys))
	if len(mine) != 2 {
		t.Fatalf("Ann sees %+v", mine)
	}
	gk, err := c.GetAPIKey(ctx, k.ID)
	if err != nil || gk.ID != k.ID || gk.Prefix != k.Prefix {
		t.Fatalf("GetAPIKey = %+v, %v", gk, err)
	}

	if err := c.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = ann.Me(ctx)
	wantCode(t, err, labelhub.ECodeUnauthorized)
	gk, err = c.GetAPIKey(ctx, k.ID)
	if err != nil || gk.RevokedAt == nil {
		t.Fatalf("revoked key = %+v, %v", gk, err)
	}
	wantCode(t, c.RevokeAPIKey(ctx, "no-such-key"), labelhub.ECodeNotFound)
}

func TestProjectsAndBatches(t *testing.T) {
	h := newHub(t)
	ctx := context.Background()
	c := client.New(h.URL, h.RootKey)

	schema := &labelhub.CategorySchema{
		Tools: []labelhub.SchemaTool{{Title: "Car", Tool: "bounding-box"}},
		Classifications: []labelhub.SchemaClassification{{Title: "Weather", Tool: "radio",
			Options: []labelhub.SchemaOption{{Value: "sunny"}, {Value: "rainy"}}}},
	}
	p, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: ptr("Cars"), Description: ptr("street scenes"), CategorySchema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.Name != "Cars" || p.Description != "street scenes" || len(p.CategorySchema.Tools) != 1 || p.CategorySchema.Tools[0].SchemaID == "" {
		t.Fatalf("project = %+v", p)
	}
	got, err := c.GetProject(ctx, p.ID)
	if err != nil || got.ID != p.ID || got.CategorySchema.Tools[0].SchemaID != p.CategorySchema.Tools[0].SchemaID {
		t.Fatalf("GetProject = %+v, %v", got, err)
	}

	// Only the given fields change.
	up, err := c.UpdateProject(ctx, p.ID, labelhub.ProjectInput{Name: ptr("Cars v2")})
	if err != nil {
		t.Fatal(err)
	}
	if up.Name != "Cars v2" || up.Description != "street scenes" || len(up.CategorySchema.Classifications) != 1 {
		t.Fatalf("updated = %+v", up)
	}
	_, err = c.UpdateProject(ctx, p.ID, labelhub.ProjectInput{Name: ptr("")})
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "name") {
		t.Fatalf("details = %+v", e.Details)
	}

	other, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: ptr("Other")})
	if err != nil {
		t.Fatal(err)
	}
	projects := collect(t, client.All(ctx, c.ListProjects))
	if len(projects) != 2 || !slices.ContainsFunc(projects, func(x labelhub.Project) bool { return x.ID == p.ID && x.Name == "Cars v2" }) ||
		!slices.ContainsFunc(projects, func(x labelhub.Project) bool { return x.ID == other.ID }) {
		t.Fatalf("projects = %+v", projects)
	}

	b, err := c.CreateBatch(ctx, p.ID, "week 1")
	if err != nil {
		t.Fatal(err)
	}
	if b.ID == "" || b.ProjectID != p.ID || b.Name != "week 1" {
		t.Fatalf("batch = %+v", b)
	}
	b2, err := c.CreateBatch(ctx, p.ID, "week 2")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateBatch(ctx, p.ID, "")
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "name") {
		t.Fatalf("details = %+v", e.Details)
	}
	batches := collect(t, client.All(ctx, func(ctx context.Context, pr labelhub.PageRequest) (labelhub.Page[labelhub.Batch], error) {
		pr.Limit = 1 // one batch a page: the walk must follow the cursor
		return c.ListBatches(ctx, p.ID, pr)
	}))
	if len(batches) != 2 || batches[0].ID == batches[1].ID ||
		!slices.ContainsFunc(batches, func(x labelhub.Batch) bool { return x.ID == b.ID }) ||
		!slices.ContainsFunc(batches, func(x labelhub.Batch) bool { return x.ID == b2.ID }) {
		t.Fatalf("batches = %+v", batches)
	}
	if page, err := c.ListBatches(ctx, other.ID, labelhub.PageRequest{}); err != nil || len(page.Items) != 0 {
		t.Fatalf("other's batches = %+v, %v", page, err)
	}
	gb, err := c.GetBatch(ctx, b.ID)
	if err != nil || gb.ID != b.ID || gb.Name != "week 1" {
		t.Fatalf("GetBatch = %+v, %v", gb, err)
	}
	if err := c.DeleteBatch(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetBatch(ctx, b.ID)
	wantCode(t, err, labelhub.ECodeNotFound)

	if err := c.DeleteProject(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetProject(ctx, p.ID)
	wantCode(t, err, labelhub.ECodeNotFound)
	wantCode(t, c.DeleteProject(ctx, p.ID), labelhub.ECodeNotFound)
	projects = collect(t, client.All(ctx, c.ListProjects))
	if len(projects) != 1 || projects[0].ID != other.ID {
		t.Fatalf("after delete: %+v", projects)
	}
}

func TestValidationErrorKeepsDetails(t *testing.T) {
	h := newHub(t)
	ctx := context.Background()
	c := client.New(h.URL, h.RootKey)
	_, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: ptr("Bad"), CategorySchema: &labelhub.CategorySchema{
		Tools: []labelhub.SchemaTool{{Title: "Car", Tool: "bounding-box"}, {Title: "Wheel", Tool: "circle"}},
	}})
	e := wantCode(t, err, labelhub.ECodeInvalid)
	if e.Message == "" || !hasDetail(e, "categorySchema.tools[1].tool") {
		t.Fatalf("error = %+v", e)
	}
	if !strings.Contains(err.Error(), "categorySchema.tools[1].tool") {
		t.Fatalf("Error() = %q does not name the field", err.Error())
	}
	_, err = c.CreateProject(ctx, labelhub.ProjectInput{})
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "name") {
		t.Fatalf("details = %+v", e.Details)
	}
	// Nothing was created.
	if ps := collect(t, client.All(ctx, c.ListProjects)); len(ps) != 0 {
		t.Fatalf("projects = %+v", ps)
	}
	// A bad page request is a validation error on its field too.
	_, err = c.ListProjects(ctx, labelhub.PageRequest{Limit: labelhub.MaxPageLimit + 1})
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "limit") {
		t.Fatalf("details = %+v", e.Details)
	}
	_, err = c.ListProjects(ctx, labelhub.PageRequest{Cursor: "not-a-cursor"})
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "cursor") {
		t.Fatalf("details = %+v", e.Details)
	}
}

func TestAllWalksEveryPage(t *testing.T) {
	h := newHub(t)
	ctx := context.Background()
	cnt := &counter{}
	c := client.New(h.URL, h.RootKey, client.WithHTTPClient(&http.Client{Transport: cnt}))
	want := map[string]string{}
	for i := range 250 {
		p, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: ptr(fmt.Sprintf("P%03d", i))})
		if err != nil {
			t.Fatal(err)
		}
		want[p.ID] = p.Name
	}
	list100 := func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.Project], error) {
		p.Limit = 100
		return c.ListProjects(ctx, p)
	}
	seen := map[string]bool{}
	var order []string
	for p, err := range client.All(ctx, list100) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[p.ID] {
			t.Fatalf("project %s twice", p.ID)
		}
		if want[p.ID] != p.Name {
			t.Fatalf("unexpected project %+v", p)
		}
		seen[p.ID] = true
		order = append(order, p.ID)
	}
	if len(seen) != 250 {
		t.Fatalf("walked %d projects, want 250", len(seen))
	}
	if n := cnt.get("GET /api/v1/projects"); n != 3 {
		t.Fatalf("%d page requests, want 3", n)
	}
	if !slices.IsSorted(order) { // keyset order
		t.Fatal("items are not in the list's order")
	}

	// Stopping early fetches no further page.
	n := 0
	for _, err := range client.All(ctx, list100) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 150 {
			break
		}
	}
	if got := cnt.get("GET /api/v1/projects"); got != 3+2 {
		t.Fatalf("after an early stop: %d page requests in all, want 5", got)
	}

	// The default page size is the hub's.
	if ps := collect(t, client.All(ctx, c.ListProjects)); len(ps) != 250 {
		t.Fatalf("default walk: %d", len(ps))
	}
}

func TestAllYieldsErrorOnce(t *testing.T) {
	calls := 0
	boom := labelhub.Errorf(labelhub.ECodeUnavailable, "down")
	list := func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[int], error) {
		calls++
		if p.Cursor == "" {
			return labelhub.Page[int]{Items: []int{1, 2}, NextCursor: "c2"}, nil
		}
		return labelhub.Page[int]{}, boom
	}
	var got []int
	var errs []error
	for v, err := range client.All(context.Background(), list) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, v)
	}
	if !slices.Equal(got, []int{1, 2}) || len(errs) != 1 || !errors.Is(errs[0], boom) || calls != 2 {
		t.Fatalf("got %v, errs %v, calls %d", got, errs, calls)
	}

	// A hub that repeats its cursor does not loop forever.
	loop := func(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[int], error) {
		return labelhub.Page[int]{Items: []int{1}, NextCursor: "same"}, nil
	}
	n, nerr := 0, 0
	for _, err := range client.All(context.Background(), loop) {
		if err != nil {
			nerr++
		} else {
			n++
		}
	}
	if n != 2 || nerr != 1 {
		t.Fatalf("loop: %d items, %d errors", n, nerr)
	}

	// A cancelled context ends the walk with its error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, err := range client.All(ctx, list) {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	}
}

func TestIsolation(t *testing.T) {
	h := newHub(t)
	ctx := context.Background()
	root := client.New(h.URL, h.RootKey)
	org, err := root.CreateOrganization(ctx, labelhub.NewOrg{Name: "Other", AdminEmail: "admin@other.test"})
	if err != nil {
		t.Fatal(err)
	}
	other := client.New(h.URL, org.APIKey)
	theirs, err := other.CreateProject(ctx, labelhub.ProjectInput{Name: ptr("Secret")})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := other.CreateBatch(ctx, theirs.ID, "b")
	if err != nil {
		t.Fatal(err)
	}

	_, err = root.GetProject(ctx, theirs.ID)
	wantCode(t, err, labelhub.ECodeNotFound)
	_, err = root.UpdateProject(ctx, theirs.ID, labelhub.ProjectInput{Name: ptr("mine now")})
	wantCode(t, err, labelhub.ECodeNotFound)
	wantCode(t, root.DeleteProject(ctx, theirs.ID), labelhub.ECodeNotFound)
	_, err = root.CreateBatch(ctx, theirs.ID, "b2")
	wantCode(t, err, labelhub.ECodeNotFound)
	_, err = root.GetBatch(ctx, batch.ID)
	wantCode(t, err, labelhub.ECodeNotFound)
	wantCode(t, root.DeleteBatch(ctx, batch.ID), labelhub.ECodeNotFound)
	_, err = root.GetUser(ctx, org.Admin.ID)
	wantCode(t, err, labelhub.ECodeNotFound)
	if ps := collect(t, client.All(ctx, root.ListProjects)); len(ps) != 0 {
		t.Fatalf("root sees %+v", ps)
	}

	// Untouched for its owner.
	got, err := other.GetProject(ctx, theirs.ID)
	if err != nil || got.Name != "Secret" {
		t.Fatalf("owner's project = %+v, %v", got, err)
	}
}

func TestErrorsWithoutTheAPIShape(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		code   string
	}{
		{http.StatusBadGateway, "<html>bad gateway</html>", labelhub.ECodeUnavailable},
		{http.StatusNotFound, "404 page not found\n", labelhub.ECodeNotFound},
		{http.StatusUnauthorized, `{"message": "not our shape"}`, labelhub.ECodeUnauthorized},
		{http.StatusInternalServerError, "", labelhub.ECodeInternal},
		{http.StatusTeapot, `{"error": "a string"}`, labelhub.ECodeInvalid},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}))
		_, err := client.New(srv.URL, "k").Me(context.Background())
		srv.Close()
		e := wantCode(t, err, tc.code)
		if want := fmt.Sprintf("%d %s", tc.status, http.StatusText(tc.status)); e.Message != want {
			t.Errorf("status %d: message %q, want %q", tc.status, e.Message, want)
		}
	}
}

func TestRequestsAndForwardCompatibility(t *testing.T) {
	var mu sync.Mutex
	var auth, ua, ctype string
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth, ua, ctype, path = r.Header.Get("Authorization"), r.Header.Get("User-Agent"), r.Header.Get("Content-Type"), r.URL.RequestURI()
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.EscapedPath() {
		case "/prefix/api/v1/me":
			io.WriteString(w, `{"user": {"id": "u1", "email": "a@b.c", "avatar": "new field"},
				"organization": {"id": "o1", "name": "O", "plan": {"tier": "gold"}},
				"role": "admin", "serverAdmin": false, "features": ["x"]}`)
		case "/prefix/api/v1/projects":
			io.WriteString(w, `{"items": [{"id": "p1", "name": "P", "stages": [1, 2]}], "nextCursor": null, "total": 1}`)
		case "/prefix/api/v1/projects/p%2F1":
			io.WriteString(w, `{"id": "p/1", "name": "slash"}`)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL+"/prefix/", "lh_secret", client.WithUserAgent("test-agent/1"))
	me, err := c.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.User.ID != "u1" || me.Organization.Name != "O" || me.Role != labelhub.RoleAdmin {
		t.Fatalf("me = %+v", me)
	}
	mu.Lock()
	if auth != "Bearer lh_secret" || ua != "test-agent/1" {
		t.Fatalf("headers: Authorization %q, User-Agent %q", auth, ua)
	}
	mu.Unlock()

	page, err := c.ListProjects(ctx, labelhub.PageRequest{Limit: 7, Cursor: "abc"})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != "p1" || page.NextCursor != "" {
		t.Fatalf("page = %+v, %v", page, err)
	}
	mu.Lock()
	if path != "/prefix/api/v1/projects?cursor=abc&limit=7" {
		t.Fatalf("request URI = %q", path)
	}
	mu.Unlock()

	// Ids are escaped into paths.
	if p, err := c.GetProject(ctx, "p/1"); err != nil || p.Name != "slash" {
		t.Fatalf("GetProject(p/1) = %+v, %v", p, err)
	}

	_, _ = c.CreateProject(ctx, labelhub.ProjectInput{Name: ptr("x")})
	mu.Lock()
	if ctype != "application/json" {
		t.Fatalf("Content-Type = %q", ctype)
	}
	mu.Unlock()
}

func TestContextIsRespected(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := client.New(srv.URL, "k").Me(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the request outlived its context")
	}
}
