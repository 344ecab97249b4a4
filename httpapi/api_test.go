package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/sqlstore"
)

// projectNames lists the root organisation's projects straight from the
// store, to check what a refused request left behind.
func (h *hub) projectNames() []string {
	h.t.Helper()
	p, err := h.store.ListProjects(context.Background(), h.rootOrg.ID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit})
	if err != nil {
		h.t.Fatal(err)
	}
	names := []string{}
	for _, x := range p.Items {
		names = append(names, x.Name)
	}
	return names
}

func (h *hub) wantNoProjects() {
	h.t.Helper()
	if n := h.projectNames(); len(n) != 0 {
		h.t.Errorf("a refused request stored projects: %q", n)
	}
}

// newUser creates a user with role in the root organisation and returns
// it with an API key of its own.
func (h *hub) newUser(email string, role labelhub.Role) (labelhub.User, string) {
	h.t.Helper()
	var u labelhub.User
	h.must(h.rootKey, "POST", "/api/v1/users", `{"email":"`+email+`","name":"`+email+`","role":"`+string(role)+`"}`, 201, &u)
	var k struct {
		APIKey string `json:"apiKey"`
		UserID string `json:"userId"`
	}
	h.must(h.rootKey, "POST", "/api/v1/api-keys", `{"name":"key of `+email+`","userId":"`+u.ID+`"}`, 201, &k)
	if k.UserID != u.ID || !strings.HasPrefix(k.APIKey, "lh_") {
		h.t.Fatalf("key for %s: %+v", email, k)
	}
	return u, k.APIKey
}

func TestBadJSONBodies(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{}).with(t)
		for _, c := range []struct {
			name, body string
			msg        string // in the message
			path, det  string // a detail, when path is set
		}{
			{name: "malformed", body: `{"name":"x",}`, msg: "malformed JSON at byte 13"},
			{name: "malformed later", body: `{"name": "x", "description": tru}`, msg: "malformed JSON at byte 33"},
			{name: "truncated", body: `{"name":"x"`, msg: "truncated"},
			{name: "empty", body: ``, msg: "empty"},
			{name: "trailing value", body: `{"name":"x"} {"name":"y"}`, msg: "after its JSON value"},
			{name: "trailing garbage", body: `{"name":"x"} ]`, msg: "invalid"},
			{name: "name not a string", body: `{"name":5}`, path: "name", det: "must be a string, not number"},
			{name: "description an object", body: `{"name":"x","description":{"a":1}}`, path: "description", det: "must be a string, not object"},
			{name: "schema an array", body: `{"name":"x","categorySchema":[1]}`, path: "categorySchema", det: "must be an object, not array"},
			{name: "body an array", body: `[{"name":"x"}]`, path: "(body)", det: "must be an object, not array"},
			{name: "body a string", body: `"x"`, path: "(body)", det: "must be an object, not string"},
			{name: "nested type names the item", body: `{"name":"x","categorySchema":{"tools":[{"title":"a","tool":"point"},{"title":3,"tool":"point"}]}}`,
				path: "categorySchema.tools[1].title", det: "must be a string, not number"},
			{name: "tools not an array", body: `{"name":"x","categorySchema":{"tools":{"title":"a"}}}`,
				path: "categorySchema.tools", det: "must be an array, not object"},
			{name: "deep type", body: `{"name":"x","categorySchema":{"classifications":[{"title":"q","tool":"radio","options":[{"value":"a"},{"value":"b","children":[{"value":false}]}]}]}}`,
				path: "categorySchema.classifications[0].options[1].children[0].value", det: "must be a string, not bool"},
			{name: "unknown field", body: `{"name":"x","colour":"red"}`, path: "colour", det: "is not a field"},
			// "name" is a field of a project but not of a tool: the path
			// must not point at the project's name.
			{name: "unknown nested field", body: `{"name":"x","categorySchema":{"tools":[{"title":"a","tool":"point"},{"title":"b","tool":"point","name":"c"}]}}`,
				path: "categorySchema.tools[1].name", det: "is not a field"},
			{name: "unknown field after a type error", body: `{"name":5,"colour":"red"}`, path: "name", det: "must be a string"},
		} {
			t.Run(c.name, func(t *testing.T) {
				h := h.with(t)
				r := h.as(h.rootKey, "POST", "/api/v1/projects", c.body)
				e := wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid)
				if c.msg != "" && !strings.Contains(e.Error.Message, c.msg) {
					t.Errorf("%s: message should contain %q", r, c.msg)
				}
				if c.path != "" {
					wantDetail(t, r, e, c.path, c.det)
					if len(e.Error.Details) != 1 {
						t.Errorf("%s: want exactly one detail", r)
					}
				}
				h.wantNoProjects()
			})
		}
		// The same decoding guards every body: a batch, a user, a key, an org.
		var p labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"p"}`, 201, &p)
		for _, c := range []struct{ path, body, field string }{
			{"/api/v1/projects/" + p.ID + "/batches", `{"name":"b","size":1}`, "size"},
			{"/api/v1/users", `{"email":"a@example.com","role":"labeler","admin":true}`, "admin"},
			{"/api/v1/api-keys", `{"name":"k","scopes":[]}`, "scopes"},
			{"/api/v1/organizations", `{"name":"o","adminEmail":"o@example.com","root":true}`, "root"},
		} {
			r := h.as(h.rootKey, "POST", c.path, c.body)
			e := wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid)
			wantDetail(t, r, e, c.field, "is not a field")
		}
		r := h.as(h.rootKey, "PATCH", "/api/v1/projects/"+p.ID, `{"name":["x"]}`)
		wantDetail(t, r, wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid), "name", "must be a string, not array")
		var got labelhub.Project
		h.must(h.rootKey, "GET", "/api/v1/projects/"+p.ID, "", 200, &got)
		if got.Name != "p" || !got.UpdatedAt.Equal(p.UpdatedAt) {
			t.Errorf("a refused PATCH changed the project: %+v", got)
		}
	})
}

func TestBodyLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		const limit = 2048
		h := newHub(t, s, httpapi.Config{MaxBodyBytes: limit}).with(t)
		body := func(descLen int) string {
			return `{"name":"big","description":"` + strings.Repeat("d", descLen) + `"}`
		}
		// Just over the limit, and far over it.
		for _, n := range []int{limit - 30, 10 * limit, 5 << 20} {
			b := body(n)
			if len(b) <= limit {
				t.Fatalf("body of %d bytes is not over the limit", len(b))
			}
			r := h.as(h.rootKey, "POST", "/api/v1/projects", b)
			e := wantError(t, r, http.StatusRequestEntityTooLarge, labelhub.ECodeTooLarge)
			if !strings.Contains(e.Error.Message, strconv.Itoa(limit)) || !strings.Contains(e.Error.Message, "--max-body") {
				t.Errorf("%s: the message should state the limit %d and its flag", r, limit)
			}
		}
		h.wantNoProjects()
		// Up to the limit is fine.
		b := body(limit - len(body(0)))
		if len(b) != limit {
			t.Fatalf("body is %d bytes, want %d", len(b), limit)
		}
		var p labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", b, 201, &p)
		// An oversized PATCH changes nothing.
		r := h.as(h.rootKey, "PATCH", "/api/v1/projects/"+p.ID, `{"name":"changed","description":"`+strings.Repeat("x", limit)+`"}`)
		wantError(t, r, http.StatusRequestEntityTooLarge, labelhub.ECodeTooLarge)
		if n := h.projectNames(); len(n) != 1 || n[0] != "big" {
			t.Errorf("projects after the refused PATCH: %q", n)
		}
	})
	// The default limit is 1 MiB.
	t.Run("default", func(t *testing.T) {
		h := newHub(t, openStore(t, t.TempDir()+"/d.db"), httpapi.Config{}).with(t)
		r := h.as(h.rootKey, "POST", "/api/v1/projects", `{"name":"x","description":"`+strings.Repeat("d", httpapi.DefaultMaxBodyBytes)+`"}`)
		e := wantError(t, r, http.StatusRequestEntityTooLarge, labelhub.ECodeTooLarge)
		if !strings.Contains(e.Error.Message, "1048576") {
			t.Errorf("%s: want the default limit 1048576 in the message", r)
		}
	})
}

func TestCategorySchemaValidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{}).with(t)
		for _, c := range []struct {
			name, schema string
			path, msg    string
		}{
			{"duplicate schemaIds", `{"tools":[{"schemaId":"car","title":"Car","tool":"bounding-box"}],"classifications":[{"schemaId":"car","title":"Weather","tool":"text"}]}`,
				"categorySchema.classifications[0].schemaId", "duplicate schemaId"},
			{"duplicate nested schemaId", `{"tools":[{"schemaId":"t1","title":"Car","tool":"polygon","classifications":[{"schemaId":"t1","title":"Colour","tool":"text"}]}]}`,
				"categorySchema.tools[0].classifications[0].schemaId", "duplicate schemaId"},
			{"unknown tool kind", `{"tools":[{"title":"Car","tool":"box"}]}`, "categorySchema.tools[0].tool", "unknown tool kind"},
			{"classification kind as a tool", `{"tools":[{"title":"Car","tool":"radio"}]}`, "categorySchema.tools[0].tool", "unknown tool kind"},
			{"empty options", `{"classifications":[{"title":"Weather","tool":"radio","options":[]}]}`, "categorySchema.classifications[0].options", "at least one option"},
			{"unknown relation kind", `{"relations":[{"title":"r","tool":"triple"}]}`, "categorySchema.relations[0].tool", "unknown relation kind"},
		} {
			t.Run(c.name, func(t *testing.T) {
				h := h.with(t)
				r := h.as(h.rootKey, "POST", "/api/v1/projects", `{"name":"p","categorySchema":`+c.schema+`}`)
				e := wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid)
				wantDetail(t, r, e, c.path, c.msg)
				h.wantNoProjects()
			})
		}
		// Every problem is reported at once.
		r := h.as(h.rootKey, "POST", "/api/v1/projects", `{"name":"","categorySchema":{"tools":[{"schemaId":"a","title":"A","tool":"box"},{"schemaId":"a","title":"B","tool":"point"}],"classifications":[{"title":"Q","tool":"checkbox"}]}}`)
		e := wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid)
		wantDetail(t, r, e, "name", "is required")
		wantDetail(t, r, e, "categorySchema.tools[0].tool", "unknown tool kind")
		wantDetail(t, r, e, "categorySchema.tools[1].schemaId", "duplicate schemaId")
		wantDetail(t, r, e, "categorySchema.classifications[0].options", "at least one option")
		h.wantNoProjects()

		// A valid schema is stored, with the missing schemaIds generated.
		var p labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"ok","categorySchema":{"tools":[{"schemaId":"car","title":"Car","tool":"bounding-box"}],"classifications":[{"title":"Weather","tool":"radio","options":[{"value":"sun"},{"value":"rain"}]}]}}`, 201, &p)
		if len(p.CategorySchema.Tools) != 1 || p.CategorySchema.Tools[0].SchemaID != "car" || len(p.CategorySchema.Classifications) != 1 ||
			p.CategorySchema.Classifications[0].SchemaID == "" || p.CategorySchema.Relations == nil {
			t.Fatalf("stored schema = %+v", p.CategorySchema)
		}
		// An invalid schema in a PATCH leaves the stored one as it was.
		r = h.as(h.rootKey, "PATCH", "/api/v1/projects/"+p.ID, `{"name":"renamed","categorySchema":{"tools":[{"schemaId":"x","title":"X","tool":"point"},{"schemaId":"x","title":"Y","tool":"point"}]}}`)
		wantDetail(t, r, wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid), "categorySchema.tools[1].schemaId", "duplicate")
		var got labelhub.Project
		h.must(h.rootKey, "GET", "/api/v1/projects/"+p.ID, "", 200, &got)
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(got)
		if string(a) != string(b) {
			t.Errorf("a refused PATCH changed the project:\nbefore %s\nafter  %s", a, b)
		}
	})
}

func TestPageParameters(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{}).with(t)
		var p labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"p"}`, 201, &p)
		lists := []string{"/api/v1/projects", "/api/v1/users", "/api/v1/api-keys", "/api/v1/organizations", "/api/v1/projects/" + p.ID + "/batches"}
		for _, list := range lists {
			for _, c := range []struct{ query, path string }{
				{"limit=0", "limit"},
				{"limit=5000", "limit"},
				{"limit=1001", "limit"},
				{"limit=-1", "limit"},
				{"limit=ten", "limit"},
				{"cursor=nope", "cursor"},
				{"cursor=" + labelhub.EncodeCursor("not-an-id"), "cursor"},
				{"cursor=" + url.QueryEscape(labelhub.EncodeCursor(p.ID)+"="), "cursor"},
			} {
				r := h.as(h.rootKey, "GET", list+"?"+c.query, "")
				wantDetail(t, r, wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid), c.path, "")
			}
			for _, q := range []string{"limit=1", "limit=1000", "cursor=", "cursor=" + labelhub.EncodeCursor(labelhub.NewID())} {
				h.must(h.rootKey, "GET", list+"?"+q, "", 200, nil)
			}
		}
	})
}

func TestPagination(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{}).with(t)
		ctx := context.Background()
		var created []string
		for i := range 250 {
			name := fmt.Sprintf("project %03d", i)
			p, err := s.CreateProject(ctx, h.rootOrg.ID, h.rootAdmin.ID, labelhub.ProjectInput{Name: &name})
			if err != nil {
				t.Fatal(err)
			}
			created = append(created, p.ID)
		}
		type page = labelhub.Page[labelhub.Project]
		fetch := func(cursor string) page {
			t.Helper()
			var pg page
			h.must(h.rootKey, "GET", "/api/v1/projects?limit=100&cursor="+url.QueryEscape(cursor), "", 200, &pg)
			return pg
		}
		// Without inserts: 100, 100, 50, in creation order.
		var all []labelhub.Project
		var sizes []int
		cursor := ""
		for {
			pg := fetch(cursor)
			all = append(all, pg.Items...)
			sizes = append(sizes, len(pg.Items))
			if pg.NextCursor == "" {
				break
			}
			cursor = pg.NextCursor
			if len(sizes) > 10 {
				t.Fatal("pagination does not end")
			}
		}
		if fmt.Sprint(sizes) != "[100 100 50]" {
			t.Errorf("page sizes %v, want [100 100 50]", sizes)
		}
		for i, p := range all {
			if i >= len(created) || p.ID != created[i] || p.Name != fmt.Sprintf("project %03d", i) {
				t.Fatalf("item %d = %s %q, want %s (creation order)", i, p.ID, p.Name, created[i])
			}
		}
		// The answer has no nextCursor at all on the last page.
		r := h.as(h.rootKey, "GET", "/api/v1/projects?limit=100&cursor="+url.QueryEscape(cursor), "")
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &raw); err != nil {
			t.Fatal(err)
		}
		if c, ok := raw["nextCursor"]; ok && string(c) != "null" {
			t.Errorf("last page has nextCursor %s", c)
		}

		// With projects created between the fetches: no duplicates, none
		// of the first 250 skipped, the new ones at the end.
		seen := map[string]int{}
		var order []string
		cursor = ""
		pages := 0
		for {
			pg := fetch(cursor)
			pages++
			for _, p := range pg.Items {
				seen[p.ID]++
				order = append(order, p.ID)
			}
			// Insert through the API while paging.
			for j := range 3 {
				h.must(h.rootKey, "POST", "/api/v1/projects", fmt.Sprintf(`{"name":"late %d-%d"}`, pages, j), 201, nil)
			}
			if pg.NextCursor == "" || pages > 10 {
				break
			}
			cursor = pg.NextCursor
		}
		if pages != 3 {
			t.Errorf("%d pages with inserts, want 3", pages)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("project %s listed %d times", id, n)
			}
		}
		for i, id := range created {
			if order[i] != id {
				t.Fatalf("item %d = %s, want %s", i, order[i], id)
			}
		}
		// Pages 1 and 2 were followed by 6 inserts, all before the last
		// page was read; the 3 after it are not on it.
		if len(order) != 250+6 {
			t.Errorf("listed %d projects, want 256", len(order))
		}
	})
}

func TestRoles(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{}).with(t)
		var p labelhub.Project
		h.must(h.rootKey, "POST", "/api/v1/projects", `{"name":"p"}`, 201, &p)
		var b labelhub.Batch
		h.must(h.rootKey, "POST", "/api/v1/projects/"+p.ID+"/batches", `{"name":"b"}`, 201, &b)
		_, labeler := h.newUser("labeler@example.com", labelhub.RoleLabeler)
		_, reviewer := h.newUser("reviewer@example.com", labelhub.RoleReviewer)
		_, pm := h.newUser("pm@example.com", labelhub.RoleProjectManager)

		forbidden := func(key, method, path, body, role string) {
			t.Helper()
			r := h.as(key, method, path, body)
			e := wantError(t, r, http.StatusForbidden, labelhub.ECodeForbidden)
			if !strings.Contains(e.Error.Message, role) {
				t.Errorf("%s: message should name the role %s", r, role)
			}
		}
		for _, c := range []struct {
			key, role string
		}{{labeler, "labeler"}, {reviewer, "reviewer"}} {
			forbidden(c.key, "POST", "/api/v1/projects", `{"name":"mine"}`, c.role)
			forbidden(c.key, "PATCH", "/api/v1/projects/"+p.ID, `{"name":"mine"}`, c.role)
			forbidden(c.key, "DELETE", "/api/v1/projects/"+p.ID, "", c.role)
			forbidden(c.key, "POST", "/api/v1/projects/"+p.ID+"/batches", `{"name":"mine"}`, c.role)
			forbidden(c.key, "DELETE", "/api/v1/batches/"+b.ID, "", c.role)
			forbidden(c.key, "POST", "/api/v1/users", `{"email":"x@example.com","role":"admin"}`, c.role)
			// Reading is open to every role.
			var pg labelhub.Page[labelhub.Project]
			h.must(c.key, "GET", "/api/v1/projects", "", 200, &pg)
			if len(pg.Items) != 1 || pg.Items[0].ID != p.ID {
				t.Errorf("%s lists %+v", c.role, pg.Items)
			}
			h.must(c.key, "GET", "/api/v1/projects/"+p.ID, "", 200, nil)
			h.must(c.key, "GET", "/api/v1/projects/"+p.ID+"/batches", "", 200, nil)
			h.must(c.key, "GET", "/api/v1/batches/"+b.ID, "", 200, nil)
			h.must(c.key, "GET", "/api/v1/users", "", 200, nil)
		}
		// A project manager manages projects but not users.
		forbidden(pm, "POST", "/api/v1/users", `{"email":"x@example.com","role":"labeler"}`, "project-manager")
		var pmProject labelhub.Project
		h.must(pm, "POST", "/api/v1/projects", `{"name":"pm's"}`, 201, &pmProject)
		h.must(pm, "PATCH", "/api/v1/projects/"+p.ID, `{"description":"by pm"}`, 200, nil)
		h.must(pm, "POST", "/api/v1/projects/"+p.ID+"/batches", `{"name":"pm batch"}`, 201, nil)
		h.must(pm, "DELETE", "/api/v1/projects/"+pmProject.ID, "", 204, nil)

		// Nothing the refused calls asked for exists.
		if n := h.projectNames(); len(n) != 1 || n[0] != "p" {
			t.Errorf("projects = %q, want [p]", n)
		}
		var got labelhub.Project
		h.must(h.rootKey, "GET", "/api/v1/projects/"+p.ID, "", 200, &got)
		if got.Name != "p" || got.Description != "by pm" {
			t.Errorf("project = %+v", got)
		}
		h.must(h.rootKey, "GET", "/api/v1/batches/"+b.ID, "", 200, nil)
		if _, err := s.UserByEmail(context.Background(), "x@example.com"); labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
			t.Errorf("a refused user creation stored a user (%v)", err)
		}
		// A labeler creates keys for itself, not for others.
		var me struct {
			User labelhub.User `json:"user"`
		}
		h.must(labeler, "GET", "/api/v1/me", "", 200, &me)
		h.must(labeler, "POST", "/api/v1/api-keys", `{"name":"second"}`, 201, nil)
		h.must(labeler, "POST", "/api/v1/api-keys", `{"name":"own","userId":"`+me.User.ID+`"}`, 201, nil)
		forbidden(labeler, "POST", "/api/v1/api-keys", `{"name":"theirs","userId":"`+h.rootAdmin.ID+`"}`, "labeler")
		// Validation of a user names the fields.
		r := h.as(h.rootKey, "POST", "/api/v1/users", `{"email":"not an email","role":"boss"}`)
		e := wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid)
		wantDetail(t, r, e, "email", "email")
		wantDetail(t, r, e, "role", "must be one of")
		r = h.as(h.rootKey, "POST", "/api/v1/users", `{"email":"LABELER@example.com","role":"labeler"}`)
		wantError(t, r, http.StatusConflict, labelhub.ECodeConflict)
	})
}

func TestOrganizations(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{}).with(t)
		var rootMe struct {
			ServerAdmin  bool                  `json:"serverAdmin"`
			Organization labelhub.Organization `json:"organization"`
			Role         labelhub.Role         `json:"role"`
		}
		h.must(h.rootKey, "GET", "/api/v1/me", "", 200, &rootMe)
		if !rootMe.ServerAdmin || !rootMe.Organization.Root || rootMe.Role != labelhub.RoleAdmin {
			t.Fatalf("root admin's /me = %+v", rootMe)
		}

		var created struct {
			labelhub.Organization
			Admin  labelhub.User `json:"admin"`
			APIKey string        `json:"apiKey"`
		}
		h.must(h.rootKey, "POST", "/api/v1/organizations", `{"name":"Org B","adminEmail":"b@example.com","adminName":"B"}`, 201, &created)
		if created.ID == "" || created.Root || created.Name != "Org B" || created.Admin.Role != labelhub.RoleAdmin ||
			created.Admin.OrgID != created.ID || !strings.HasPrefix(created.APIKey, "lh_") {
			t.Fatalf("created = %+v", created)
		}
		// The key is shown once: nothing else answers it.
		var keys labelhub.Page[labelhub.APIKey]
		r := h.must(created.APIKey, "GET", "/api/v1/api-keys", "", 200, &keys)
		if len(keys.Items) != 1 || strings.Contains(string(r.Body), created.APIKey) {
			t.Errorf("keys of the new admin: %s", r.Body)
		}

		var me struct {
			User         labelhub.User         `json:"user"`
			Organization labelhub.Organization `json:"organization"`
			Role         labelhub.Role         `json:"role"`
			ServerAdmin  bool                  `json:"serverAdmin"`
		}
		h.must(created.APIKey, "GET", "/api/v1/me", "", 200, &me)
		if me.ServerAdmin || me.Organization.ID != created.ID || me.User.ID != created.Admin.ID || me.Role != labelhub.RoleAdmin {
			t.Errorf("the new admin's /me = %+v", me)
		}
		// The new organisation's admin is not a server admin.
		r = h.as(created.APIKey, "POST", "/api/v1/organizations", `{"name":"Org C","adminEmail":"c@example.com"}`)
		wantError(t, r, http.StatusForbidden, labelhub.ECodeForbidden)
		r = h.as(created.APIKey, "GET", "/api/v1/organizations", "")
		wantError(t, r, http.StatusForbidden, labelhub.ECodeForbidden)
		// Nor is a root organisation's non-admin.
		_, pm := h.newUser("pm@example.com", labelhub.RoleProjectManager)
		r = h.as(pm, "POST", "/api/v1/organizations", `{"name":"Org D","adminEmail":"d@example.com"}`)
		wantError(t, r, http.StatusForbidden, labelhub.ECodeForbidden)

		var orgs labelhub.Page[labelhub.Organization]
		h.must(h.rootKey, "GET", "/api/v1/organizations", "", 200, &orgs)
		if len(orgs.Items) != 2 || orgs.Items[0].ID != h.rootOrg.ID || orgs.Items[1].ID != created.ID {
			t.Errorf("organizations = %+v", orgs.Items)
		}
		// Invalid input names the fields; a taken email is a conflict.
		r = h.as(h.rootKey, "POST", "/api/v1/organizations", `{"name":"","adminEmail":"nope"}`)
		e := wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid)
		wantDetail(t, r, e, "name", "required")
		wantDetail(t, r, e, "adminEmail", "email")
		r = h.as(h.rootKey, "POST", "/api/v1/organizations", `{"name":"Org E","adminEmail":"b@example.com"}`)
		wantError(t, r, http.StatusConflict, labelhub.ECodeConflict)
		if n, err := s.CountOrgs(context.Background()); err != nil || n != 2 {
			t.Errorf("%d organisations (%v), want 2: refused creations must leave nothing", n, err)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{}).with(t)
		ann, annKey := h.newUser("ann@example.com", labelhub.RoleLabeler)
		bob, bobKey := h.newUser("bob@example.com", labelhub.RoleLabeler)

		// The apikey header works like Bearer.
		var me struct {
			User labelhub.User `json:"user"`
		}
		h.must(annKey, "GET", "/api/v1/me", "", 200, &me)
		if me.User.ID != ann.ID {
			t.Fatalf("/me = %+v", me)
		}
		r := h.call("GET", "/api/v1/me", "", apikeyHeader(annKey))
		if r.Status != 200 || json.Unmarshal(r.Body, &me) != nil || me.User.ID != ann.ID {
			t.Errorf("apikey header: %s", r)
		}
		r = h.call("GET", "/api/v1/me", "", header("Authorization", "bearer "+annKey))
		if r.Status != 200 {
			t.Errorf("lower-case bearer scheme: %s", r)
		}

		// A key of one's own.
		var k struct {
			ID     string `json:"id"`
			APIKey string `json:"apiKey"`
			Prefix string `json:"prefix"`
			UserID string `json:"userId"`
		}
		h.must(annKey, "POST", "/api/v1/api-keys", `{"name":"script"}`, 201, &k)
		if k.UserID != ann.ID || !strings.HasPrefix(k.APIKey, k.Prefix) || len(k.Prefix) >= len(k.APIKey) {
			t.Fatalf("created key = %+v", k)
		}
		var got labelhub.APIKey
		r = h.must(annKey, "GET", "/api/v1/api-keys/"+k.ID, "", 200, &got)
		if got.ID != k.ID || got.RevokedAt != nil || strings.Contains(string(r.Body), k.APIKey) {
			t.Errorf("GET key: %s", r.Body)
		}
		// Another user's key is not found for a non-admin, and stays.
		var bobKeys labelhub.Page[labelhub.APIKey]
		h.must(bobKey, "GET", "/api/v1/api-keys", "", 200, &bobKeys)
		if len(bobKeys.Items) != 1 || bobKeys.Items[0].UserID != bob.ID {
			t.Fatalf("bob's keys = %+v", bobKeys.Items)
		}
		bobKeyID := bobKeys.Items[0].ID
		wantError(t, h.as(annKey, "GET", "/api/v1/api-keys/"+bobKeyID, ""), http.StatusNotFound, labelhub.ECodeNotFound)
		wantError(t, h.as(annKey, "DELETE", "/api/v1/api-keys/"+bobKeyID, ""), http.StatusNotFound, labelhub.ECodeNotFound)
		h.must(bobKey, "GET", "/api/v1/me", "", 200, nil)
		// A non-admin lists only its own keys, even when asking for others'.
		var annKeys labelhub.Page[labelhub.APIKey]
		h.must(annKey, "GET", "/api/v1/api-keys?userId="+bob.ID, "", 200, &annKeys)
		if len(annKeys.Items) != 2 {
			t.Errorf("ann lists %d keys, want her 2", len(annKeys.Items))
		}
		for _, x := range annKeys.Items {
			if x.UserID != ann.ID {
				t.Errorf("ann sees key %s of %s", x.ID, x.UserID)
			}
		}
		// An admin sees every key, and one user's on request.
		h.must(h.rootKey, "GET", "/api/v1/api-keys/"+bobKeyID, "", 200, &got)
		if got.UserID != bob.ID {
			t.Errorf("admin GET bob's key = %+v", got)
		}
		var all labelhub.Page[labelhub.APIKey]
		h.must(h.rootKey, "GET", "/api/v1/api-keys", "", 200, &all)
		if len(all.Items) != 4 { // root's, ann's two, bob's
			t.Errorf("admin lists %d keys, want 4", len(all.Items))
		}
		h.must(h.rootKey, "GET", "/api/v1/api-keys?userId="+bob.ID, "", 200, &all)
		if len(all.Items) != 1 || all.Items[0].ID != bobKeyID {
			t.Errorf("admin lists bob's keys = %+v", all.Items)
		}

		// Revoking stops the key at once; revoking again is harmless.
		h.must(k.APIKey, "GET", "/api/v1/me", "", 200, nil)
		h.must(annKey, "DELETE", "/api/v1/api-keys/"+k.ID, "", 204, nil)
		r = h.as(k.APIKey, "GET", "/api/v1/me", "")
		wantError(t, r, http.StatusUnauthorized, labelhub.ECodeUnauthorized)
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", r)
		}
		wantError(t, h.call("GET", "/api/v1/me", "", apikeyHeader(k.APIKey)), http.StatusUnauthorized, labelhub.ECodeUnauthorized)
		h.must(annKey, "DELETE", "/api/v1/api-keys/"+k.ID, "", 204, nil)
		h.must(annKey, "GET", "/api/v1/api-keys/"+k.ID, "", 200, &got)
		if got.RevokedAt == nil {
			t.Error("revoked key has no revokedAt")
		}
		h.must(annKey, "GET", "/api/v1/me", "", 200, nil) // her other key still works
		// An admin revokes bob's key.
		h.must(h.rootKey, "DELETE", "/api/v1/api-keys/"+bobKeyID, "", 204, nil)
		wantError(t, h.as(bobKey, "GET", "/api/v1/me", ""), http.StatusUnauthorized, labelhub.ECodeUnauthorized)
		// A key may revoke itself.
		var self labelhub.APIKey
		var selfCreated struct {
			APIKey string `json:"apiKey"`
		}
		r = h.must(annKey, "POST", "/api/v1/api-keys", `{"name":"self"}`, 201, &selfCreated)
		_ = json.Unmarshal(r.Body, &self)
		h.must(selfCreated.APIKey, "DELETE", "/api/v1/api-keys/"+self.ID, "", 204, nil)
		wantError(t, h.as(selfCreated.APIKey, "GET", "/api/v1/me", ""), http.StatusUnauthorized, labelhub.ECodeUnauthorized)
		// A key for an unknown user is not found, a too long name invalid.
		wantError(t, h.as(h.rootKey, "POST", "/api/v1/api-keys", `{"userId":"`+labelhub.NewID()+`"}`), http.StatusNotFound, labelhub.ECodeNotFound)
		r = h.as(annKey, "POST", "/api/v1/api-keys", `{"name":"`+strings.Repeat("n", 201)+`"}`)
		wantDetail(t, r, wantError(t, r, http.StatusBadRequest, labelhub.ECodeInvalid), "name", "longer")
	})
}

func TestCookieSession(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{}).with(t)
		token, csrf, err := s.CreateSession(context.Background(), h.rootAdmin.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var me struct {
			User labelhub.User `json:"user"`
		}
		r := h.call("GET", "/api/v1/me", "", sessionCookie(token))
		if r.Status != 200 || json.Unmarshal(r.Body, &me) != nil || me.User.ID != h.rootAdmin.ID {
			t.Fatalf("GET with the session: %s", r)
		}
		// Unsafe methods need the CSRF token.
		for _, c := range []struct {
			name string
			opts []reqOpt
		}{
			{"no token", []reqOpt{sessionCookie(token)}},
			{"wrong token", []reqOpt{sessionCookie(token), header("X-CSRF-Token", csrf+"x")}},
			{"empty token", []reqOpt{sessionCookie(token), header("X-CSRF-Token", "")}},
			{"another session's token", []reqOpt{sessionCookie(token), header("X-CSRF-Token", token)}},
		} {
			r := h.call("POST", "/api/v1/projects", `{"name":"csrf"}`, c.opts...)
			e := wantError(t, r, http.StatusForbidden, labelhub.ECodeForbidden)
			if !strings.Contains(e.Error.Message, "X-CSRF-Token") {
				t.Errorf("%s (%s): message should name X-CSRF-Token", r, c.name)
			}
		}
		h.wantNoProjects()
		var p labelhub.Project
		r = h.call("POST", "/api/v1/projects", `{"name":"with csrf"}`, sessionCookie(token), header("X-CSRF-Token", csrf))
		if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &p) != nil {
			t.Fatalf("POST with the CSRF token: %s", r)
		}
		r = h.call("DELETE", "/api/v1/projects/"+p.ID, "", sessionCookie(token))
		wantError(t, r, http.StatusForbidden, labelhub.ECodeForbidden)
		if n := h.projectNames(); len(n) != 1 {
			t.Errorf("projects %q after a DELETE without CSRF token", n)
		}
		// An ended session is refused.
		if err := s.DeleteSession(context.Background(), token); err != nil {
			t.Fatal(err)
		}
		wantError(t, h.call("GET", "/api/v1/me", "", sessionCookie(token)), http.StatusUnauthorized, labelhub.ECodeUnauthorized)
		// An expired one too.
		old, _, err := s.CreateSession(context.Background(), h.rootAdmin.ID, -time.Second)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, h.call("GET", "/api/v1/me", "", sessionCookie(old)), http.StatusUnauthorized, labelhub.ECodeUnauthorized)
	})
}

func TestOperationsEndpoints(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		h := newHub(t, s, httpapi.Config{Version: "v-test"}).with(t)
		var health struct{ Status, Version string }
		r := h.call("GET", "/healthz", "")
		if r.Status != 200 || json.Unmarshal(r.Body, &health) != nil || health.Status != "ok" || health.Version != "v-test" {
			t.Errorf("healthz: %s", r)
		}
		r = h.call("GET", "/readyz", "")
		if r.Status != 200 || !strings.Contains(string(r.Body), `"ready"`) {
			t.Errorf("readyz: %s", r)
		}
		h.must(h.rootKey, "GET", "/api/v1/me", "", 200, nil)
		wantError(t, h.call("GET", "/api/v1/me", ""), http.StatusUnauthorized, labelhub.ECodeUnauthorized)
		r = h.call("GET", "/metrics", "")
		if r.Status != 200 || !strings.Contains(string(r.Body), "labelhub_http_requests_total") ||
			!strings.Contains(string(r.Body), `route="/api/v1/me"`) || !strings.Contains(string(r.Body), "labelhub_http_request_seconds") {
			t.Errorf("metrics: status %d, %d bytes without the request counters", r.Status, len(r.Body))
		}
		// Unknown API paths answer in the error shape.
		for _, p := range []string{"/api/v1/nope", "/api/v1/projects/x/nope", "/api/v2/projects", "/api/"} {
			wantError(t, h.as(h.rootKey, "GET", p, ""), http.StatusNotFound, labelhub.ECodeNotFound)
		}
		wantError(t, h.call("POST", "/api/v1/nope", `{}`), http.StatusNotFound, labelhub.ECodeNotFound)
		// Responses are not cached and not sniffed.
		r = h.as(h.rootKey, "GET", "/api/v1/me", "")
		if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("headers %v", r.Header)
		}

		// With the database gone, readiness fails and liveness does not.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		wantError(t, h.call("GET", "/readyz", ""), http.StatusServiceUnavailable, labelhub.ECodeUnavailable)
		if r := h.call("GET", "/healthz", ""); r.Status != 200 {
			t.Errorf("healthz with the store closed: %s", r)
		}
		// A failing store is an internal error that leaks nothing.
		r = h.as(h.rootKey, "GET", "/api/v1/me", "")
		e := wantError(t, r, http.StatusInternalServerError, labelhub.ECodeInternal)
		if strings.Contains(strings.ToLower(e.Error.Message), "sql") {
			t.Errorf("%s: the message leaks internals", r)
		}
	})
}
