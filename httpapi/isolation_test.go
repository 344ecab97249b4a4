package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/sqlstore"
)

// The organisation-isolation matrix (quality.md, Security): every route
// with a path parameter, called with another organisation's ids, answers
// 404 and changes nothing. The matrix walks Routes(), so a new route is
// covered the day it is registered; a route whose parameter names a kind
// of object the fixture does not have fails until the fixture grows.

// orgFixture is one organisation holding one object of every kind a route
// parameter can name.
type orgFixture struct {
	label    string
	adminKey string
	org      labelhub.Organization
	project  labelhub.Project
	batch    labelhub.Batch
	user     labelhub.User   // a second user (labeler), not the admin
	key      labelhub.APIKey // the second user's API key
	keyText  string
	storage  labelhub.Storage
	imp      string // an import of the project
	asset    labelhub.Asset
	plugin   labelhub.Plugin       // a registered plugin
	run      labelhub.Run          // a queued run of it on the project
	preset   labelhub.Preset       // a preset of the plugin in the project
	note     labelhub.Notification // a notification of the admin
}

// ids maps each route parameter name to this organisation's object of that
// kind. A route with a new parameter needs an entry here, and the object
// created in newOrgFixture.
func (f *orgFixture) ids() map[string]string {
	return map[string]string{
		"projectId":      f.project.ID,
		"batchId":        f.batch.ID,
		"userId":         f.user.ID,
		"apiKeyId":       f.key.ID,
		"storageId":      f.storage.ID,
		"importId":       f.imp,
		"assetId":        f.asset.ID,
		"pluginId":       f.plugin.ID,
		"runId":          f.run.ID,
		"taskId":         f.asset.TaskID,
		"presetId":       f.preset.ID,
		"notificationId": f.note.ID,
	}
}

// newOrgFixture fills the organisation of adminKey through the API.
func newOrgFixture(t *testing.T, h *hub, label, adminKey string) *orgFixture {
	t.Helper()
	h = h.with(t)
	f := &orgFixture{label: label, adminKey: adminKey}
	var me struct {
		Organization labelhub.Organization `json:"organization"`
		User         labelhub.User         `json:"user"`
	}
	h.must(adminKey, "GET", "/api/v1/me", "", 200, &me)
	f.org = me.Organization
	var err error
	f.note, err = h.store.AddNotification(context.Background(), labelhub.Notification{OrgID: f.org.ID, UserID: me.User.ID,
		Kind: labelhub.NotifyExportReady, Title: "Export ready", Message: "for " + label})
	if err != nil {
		t.Fatal(err)
	}
	h.must(adminKey, "POST", "/api/v1/projects", `{"name":"Project of `+label+`","description":"belongs to `+label+`"}`, 201, &f.project)
	h.must(adminKey, "POST", "/api/v1/projects/"+f.project.ID+"/batches", `{"name":"batch of `+label+`"}`, 201, &f.batch)
	h.must(adminKey, "POST", "/api/v1/users", `{"email":"second-`+label+`@example.com","name":"Second of `+label+`","role":"labeler"}`, 201, &f.user)
	var created struct {
		ID     string `json:"id"`
		APIKey string `json:"apiKey"`
	}
	h.must(adminKey, "POST", "/api/v1/api-keys", `{"name":"key of `+label+`","userId":"`+f.user.ID+`"}`, 201, &created)
	f.keyText = created.APIKey
	h.must(adminKey, "POST", "/api/v1/storages", `{"name":"bucket of `+label+`","provider":"s3","bucket":"bucket-of-`+label+`","region":"eu-west-1",
		"credentials":{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"secret-of-`+label+`"}}`, 201, &f.storage)
	h.must(adminKey, "GET", "/api/v1/api-keys/"+created.ID, "", 200, &f.key)
	var imp struct {
		ImportID string `json:"importId"`
		State    string `json:"state"`
	}
	h.must(adminKey, "POST", "/api/v1/projects/"+f.project.ID+"/imports?wait=true&createBatches=true",
		`{"externalId":"asset-of-`+label+`","data":"https://example.com/`+label+`.jpg"}`, 200, &imp)
	f.imp = imp.ImportID
	var assets labelhub.Page[labelhub.Asset]
	h.must(adminKey, "GET", "/api/v1/projects/"+f.project.ID+"/assets", "", 200, &assets)
	if imp.State != "succeeded" || len(assets.Items) != 1 {
		t.Fatalf("fixture import %+v, assets %+v", imp, assets.Items)
	}
	f.asset = assets.Items[0]
	h.must(adminKey, "POST", "/api/v1/plugins", `{"name":"plugin of `+label+`","type":"export"}`, 201, &f.plugin)
	h.must(adminKey, "POST", "/api/v1/plugins/"+f.plugin.ID+"/runs", `{"projectId":"`+f.project.ID+`"}`, 202, &f.run)
	h.must(adminKey, "POST", "/api/v1/projects/"+f.project.ID+"/plugins/"+f.plugin.ID+"/presets", `{"name":"preset of `+label+`","configJSON":"{}"}`, 201, &f.preset)
	for name, id := range f.ids() {
		if !labelhub.ValidID(id) {
			t.Fatalf("fixture %s: %s = %q is not an id", label, name, id)
		}
	}
	return f
}

// with returns the hub reporting to t, for use in subtests.
func (h *hub) with(t *testing.T) *hub {
	c := *h
	c.t = t
	return &c
}

// orgState is what the matrix must leave unchanged, read from the store.
type orgState struct {
	Project                           labelhub.Project
	Batch                             labelhub.Batch
	User                              labelhub.User
	Key                               labelhub.APIKey
	Storage                           labelhub.StorageRecord
	Projects, Batches, Users, APIKeys []string
	Notes                             []string // the admin's notifications, id and read state
}

func snapshot(t *testing.T, s *sqlstore.Store, f *orgFixture) orgState {
	t.Helper()
	ctx := context.Background()
	var st orgState
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	st.Project, err = s.GetProject(ctx, f.org.ID, f.project.ID)
	check(err)
	st.Batch, err = s.GetBatch(ctx, f.org.ID, f.batch.ID)
	check(err)
	st.User, err = s.GetUser(ctx, f.org.ID, f.user.ID)
	check(err)
	st.Key, err = s.GetAPIKey(ctx, f.org.ID, f.key.ID)
	check(err)
	st.Storage, err = s.GetStorage(ctx, f.org.ID, f.storage.ID)
	check(err)
	all := labelhub.PageRequest{Limit: labelhub.MaxPageLimit}
	ps, err := s.ListProjects(ctx, f.org.ID, all)
	check(err)
	for _, x := range ps.Items {
		st.Projects = append(st.Projects, x.ID+" "+x.Name)
	}
	bs, err := s.ListBatches(ctx, f.org.ID, f.project.ID, all)
	check(err)
	for _, x := range bs.Items {
		st.Batches = append(st.Batches, x.ID+" "+x.Name)
	}
	us, err := s.ListUsers(ctx, f.org.ID, all)
	check(err)
	for _, x := range us.Items {
		st.Users = append(st.Users, x.ID+" "+x.Email+" "+string(x.Role))
	}
	ks, err := s.ListAPIKeys(ctx, f.org.ID, "", all)
	check(err)
	for _, x := range ks.Items {
		st.APIKeys = append(st.APIKeys, fmt.Sprintf("%s %s revoked=%v", x.ID, x.UserID, x.RevokedAt != nil))
	}
	ns, err := s.ListNotifications(ctx, f.org.ID, f.note.UserID, false, all)
	check(err)
	for _, x := range ns.Items {
		st.Notes = append(st.Notes, fmt.Sprintf("%s read=%v", x.ID, x.ReadAt != nil))
	}
	if len(errs) > 0 {
		t.Fatalf("snapshot of %s (was something deleted?): %v", f.label, errs)
	}
	return st
}

// checkUnchanged compares the victim's state with before and checks that
// its second user's key still works.
func checkUnchanged(t *testing.T, h *hub, victim *orgFixture, before orgState) {
	t.Helper()
	after := snapshot(t, h.store, victim)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("organisation %s changed:\nbefore %+v\nafter  %+v", victim.label, before, after)
	}
	if after.Key.RevokedAt != nil {
		t.Errorf("the key of %s was revoked", victim.label)
	}
	var me struct {
		User labelhub.User `json:"user"`
	}
	h.with(t).must(victim.keyText, "GET", "/api/v1/me", "", 200, &me)
	if me.User.ID != victim.user.ID {
		t.Errorf("the key of %s authenticates %s, want %s", victim.label, me.User.ID, victim.user.ID)
	}
}

func TestOrganizationIsolation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{})
		a := newOrgFixture(t, h, "a", h.rootKey)
		var orgB struct {
			ID     string `json:"id"`
			APIKey string `json:"apiKey"`
		}
		h.must(h.rootKey, "POST", "/api/v1/organizations", `{"name":"Org B","adminEmail":"admin-b@example.com","adminName":"Admin B"}`, 201, &orgB)
		b := newOrgFixture(t, h, "b", orgB.APIKey)
		if a.org.ID == b.org.ID || !a.org.Root || b.org.Root {
			t.Fatalf("fixtures: org a %+v, org b %+v", a.org, b.org)
		}

		// B (a plain organisation's admin) reaches for A's objects, and A
		// (whose admin is a server admin) for B's: neither may.
		t.Run("b→a", func(t *testing.T) { crossOrgMatrix(t, h, b, a) })
		t.Run("a→b", func(t *testing.T) { crossOrgMatrix(t, h, a, b) })
		t.Run("lists", func(t *testing.T) { listsDoNotLeak(t, h, b, a) })
		t.Run("body ids", func(t *testing.T) {
			before := snapshot(t, s, a)
			hh := h.with(t)
			r := hh.as(b.adminKey, "POST", "/api/v1/api-keys", `{"name":"stolen","userId":"`+a.user.ID+`"}`)
			wantError(t, r, http.StatusNotFound, labelhub.ECodeNotFound)
			var page labelhub.Page[labelhub.APIKey]
			hh.must(b.adminKey, "GET", "/api/v1/api-keys?userId="+a.user.ID, "", 200, &page)
			if len(page.Items) != 0 {
				t.Errorf("org b lists org a's keys: %+v", page.Items)
			}
			checkUnchanged(t, h, a, before)
		})
		t.Run("unknown ids", func(t *testing.T) { unknownIDs(t, h, a) })
		t.Run("garbage ids", func(t *testing.T) { garbageIDs(t, h, a) })
		t.Run("unauthenticated", func(t *testing.T) { unauthenticated(t, h, a) })
	})
}

// crossOrgMatrix calls every route with a path parameter with attacker's
// admin key and victim's ids, and expects 404 and no change. Routes with
// several parameters are also called with one victim id among the
// attacker's own ids, so a nested route must check every id it is given.
func crossOrgMatrix(t *testing.T, h *hub, attacker, victim *orgFixture) {
	hh := h.with(t)
	before := snapshot(t, h.store, victim)
	theirs, ours := victim.ids(), attacker.ids()
	calls := 0
	for _, rt := range h.api.Routes() {
		params := routeParams(rt.Pattern)
		if len(params) == 0 {
			continue
		}
		missing := false
		for _, p := range params {
			if _, ok := theirs[p]; !ok {
				t.Errorf("route %s %s: path parameter {%s} has no fixture in the isolation matrix. "+
					"Create an object of that kind in newOrgFixture and add its id as %q to orgFixture.ids "+
					"(httpapi/isolation_test.go), and if the route takes a body other than {\"name\":\"x\"}, add one to routeBodies",
					rt.Method, rt.Pattern, p, p)
				missing = true
			}
		}
		if missing {
			continue
		}
		variants := []func(string) string{func(p string) string { return theirs[p] }}
		if len(params) > 1 {
			for _, victimParam := range params {
				variants = append(variants, func(p string) string {
					if p == victimParam {
						return theirs[p]
					}
					return ours[p]
				})
			}
		}
		for _, v := range variants {
			path := fillPattern(rt.Pattern, v)
			r := hh.as(attacker.adminKey, rt.Method, path, bodyFor(rt))
			wantError(t, r, http.StatusNotFound, labelhub.ECodeNotFound)
			calls++
		}
	}
	if calls < 10 {
		t.Errorf("the matrix made only %d calls; is Routes() empty?", calls)
	}
	checkUnchanged(t, h, victim, before)
}

// listsDoNotLeak calls every list (GET without path parameter) as the
// attacker and checks that no id of the victim's objects is in the answer.
func listsDoNotLeak(t *testing.T, h *hub, attacker, victim *orgFixture) {
	hh := h.with(t)
	lists := 0
	for _, rt := range h.api.Routes() {
		if rt.Public || rt.Method != http.MethodGet || len(routeParams(rt.Pattern)) > 0 {
			continue
		}
		r := hh.as(attacker.adminKey, rt.Method, rt.Pattern, "")
		if r.Status != http.StatusOK {
			// Server-admin-only lists answer 403 to a plain admin.
			wantError(t, r, http.StatusForbidden, labelhub.ECodeForbidden)
			continue
		}
		lists++
		for name, id := range victim.ids() {
			if strings.Contains(string(r.Body), id) {
				t.Errorf("GET %s as org %s shows org %s's %s %s", rt.Pattern, attacker.label, victim.label, name, id)
			}
		}
	}
	if lists < 3 {
		t.Errorf("only %d lists answered", lists)
	}
}

// unknownIDs: ids of the right shape that name nothing are 404, alone or
// among the caller's own ids.
func unknownIDs(t *testing.T, h *hub, f *orgFixture) {
	hh := h.with(t)
	before := snapshot(t, h.store, f)
	own := f.ids()
	for _, rt := range h.api.Routes() {
		params := routeParams(rt.Pattern)
		if len(params) == 0 {
			continue
		}
		variants := []func(string) string{func(string) string { return labelhub.NewID() }}
		if len(params) > 1 {
			for _, unknown := range params {
				variants = append(variants, func(p string) string {
					if id, ok := own[p]; ok && p != unknown {
						return id
					}
					return labelhub.NewID()
				})
			}
		}
		for _, v := range variants {
			r := hh.as(f.adminKey, rt.Method, fillPattern(rt.Pattern, v), bodyFor(rt))
			wantError(t, r, http.StatusNotFound, labelhub.ECodeNotFound)
		}
	}
	checkUnchanged(t, h, f, before)
}

// garbageIDs: path parameters that are not ids at all are 404 too, and
// never reach anything else (path traversal, SQL, NUL, case games).
func garbageIDs(t *testing.T, h *hub, f *orgFixture) {
	hh := h.with(t)
	before := snapshot(t, h.store, f)
	garbage := []string{
		"..%2F..",
		"%2e%2e",
		"x",
		strings.ToUpper(f.project.ID),
		f.project.ID + "0",
		f.project.ID[:25],
		"%27%20OR%20%271%27%3D%271",
		"%00",
		"%E2%80%AE" + f.project.ID[:23],
		strings.Repeat("a", 5000),
	}
	for _, rt := range h.api.Routes() {
		if len(routeParams(rt.Pattern)) == 0 {
			continue
		}
		for _, g := range garbage {
			path := fillPattern(rt.Pattern, func(string) string { return g })
			r := hh.as(f.adminKey, rt.Method, path, bodyFor(rt))
			if r.Status != http.StatusNotFound {
				t.Errorf("%s %s with garbage %.40q: status %d, want 404: %s", rt.Method, rt.Pattern, g, r.Status, r.Body)
				continue
			}
			wantError(t, r, http.StatusNotFound, labelhub.ECodeNotFound)
		}
	}
	checkUnchanged(t, h, f, before)
}

// unauthenticated: every route that is not public refuses a request
// without credentials, with a revoked, unknown or malformed key and with an
// unknown session, with 401 and WWW-Authenticate, and changes nothing.
func unauthenticated(t *testing.T, h *hub, f *orgFixture) {
	hh := h.with(t)
	var k struct {
		ID     string `json:"id"`
		APIKey string `json:"apiKey"`
	}
	hh.must(f.adminKey, "POST", "/api/v1/api-keys", `{"name":"to revoke"}`, 201, &k)
	hh.must(k.APIKey, "GET", "/api/v1/me", "", 200, nil)
	hh.must(f.adminKey, "DELETE", "/api/v1/api-keys/"+k.ID, "", 204, nil)
	before := snapshot(t, h.store, f)
	creds := []struct {
		name string
		opts []reqOpt
	}{
		{"none", nil},
		{"revoked key", []reqOpt{bearer(k.APIKey)}},
		{"revoked key in apikey header", []reqOpt{apikeyHeader(k.APIKey)}},
		{"unknown key", []reqOpt{bearer("lh_" + strings.Repeat("a", 40))}},
		{"not a key", []reqOpt{bearer("hello")}},
		{"basic auth", []reqOpt{header("Authorization", "Basic cm9vdDpyb290")}},
		{"unknown session", []reqOpt{sessionCookie("no-such-session")}},
	}
	routes := 0
	for _, rt := range h.api.Routes() {
		if rt.Public {
			continue
		}
		routes++
		ids := f.ids()
		path := fillPattern(rt.Pattern, func(p string) string {
			if id, ok := ids[p]; ok {
				return id
			}
			return labelhub.NewID()
		})
		for _, c := range creds {
			r := hh.call(rt.Method, path, bodyFor(rt), c.opts...)
			e := wantError(t, r, http.StatusUnauthorized, labelhub.ECodeUnauthorized)
			if r.Status == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s with %s: WWW-Authenticate = %q", r, c.name, r.Header.Get("WWW-Authenticate"))
			}
			if strings.Contains(e.Error.Message, k.APIKey) {
				t.Errorf("%s: the message repeats the key", r)
			}
		}
	}
	if routes < 10 {
		t.Errorf("only %d authenticated routes", routes)
	}
	checkUnchanged(t, h, f, before)
	// Public routes answer without credentials.
	for _, rt := range h.api.Routes() {
		if rt.Public {
			if r := hh.call(rt.Method, rt.Pattern, ""); r.Status != http.StatusOK {
				t.Errorf("public %s", r)
			}
		}
	}
}
