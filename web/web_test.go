package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/web"
)

func TestLoginWrongPasswordSetsNoSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	c := e.client()
	for _, tc := range []struct{ email, password string }{
		{adminEmail, "not-the-password"},
		{"nobody@example.com", adminPassword}, // unknown email: the same answer
	} {
		r := c.tryLogin(tc.email, tc.password, "")
		wantStatus(t, r, http.StatusUnauthorized)
		if !strings.Contains(strings.ToLower(r.body), "wrong email or password") {
			t.Fatalf("no error message for %s:\n%s", tc.email, r.body)
		}
		if ck := setCookieFor(r, web.SessionCookie); ck != nil {
			t.Fatalf("a failed login set the session cookie: %v", ck)
		}
		// The form comes back with the email typed, never the password.
		wantContains(t, r.body, `value="`+tc.email+`"`)
		wantNotContains(t, r.body, tc.password)
	}
	if c.cookies[web.SessionCookie] != nil {
		t.Fatal("client holds a session cookie")
	}
	// Still signed out.
	r := c.get("/projects")
	wantStatus(t, r, http.StatusSeeOther)
}

func TestLoginSetsSafeCookieAndShowsWho(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	c := e.client()

	// A page without a session sends to the login form, remembering where.
	r := c.get("/projects?cursor=")
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/login?next="+url.QueryEscape("/projects?cursor=") {
		t.Fatalf("redirect to %q", loc)
	}

	r = c.tryLogin(adminEmail, adminPassword, "")
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/projects" {
		t.Fatalf("login redirects to %q, want /projects", loc)
	}
	ck := setCookieFor(r, web.SessionCookie)
	if ck == nil {
		t.Fatal("no session cookie")
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
		t.Fatalf("session cookie attributes: HttpOnly=%v SameSite=%v Path=%q Secure=%v", ck.HttpOnly, ck.SameSite, ck.Path, ck.Secure)
	}
	if ck.MaxAge != int(web.DefaultSessionTTL.Seconds()) {
		t.Fatalf("session cookie MaxAge %d", ck.MaxAge)
	}
	// The cookie is a real session of the store.
	a, _, err := e.store.SessionActor(context.Background(), ck.Value)
	if err != nil || a.User.ID != e.admin.ID {
		t.Fatalf("session actor %+v, %v", a, err)
	}
	// The login form's CSRF cookie is cleared.
	if lc := setCookieFor(r, web.LoginCSRFCookie); lc == nil || lc.MaxAge >= 0 {
		t.Fatalf("login CSRF cookie not cleared: %v", lc)
	}

	r = c.get("/projects")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "Acme Vision", adminEmail, ">admin<", `id="create-project"`)

	// Over TLS, or when configured to, cookies are Secure.
	r = e.client().get("https://hub.example/login")
	if ck := setCookieFor(r, web.LoginCSRFCookie); ck == nil || !ck.Secure {
		t.Fatalf("over TLS: login CSRF cookie %v", ck)
	}
	e2 := newEnv(t, web.Config{SecureCookies: true})
	r = e2.client().tryLogin(adminEmail, adminPassword, "")
	if ck := setCookieFor(r, web.SessionCookie); ck == nil || !ck.Secure || !ck.HttpOnly {
		t.Fatalf("SecureCookies: cookie %v", ck)
	}
}

func TestLoginFormNeedsDoubleSubmitToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	c := e.client()
	token := c.loginForm()
	ck := c.cookies[web.LoginCSRFCookie]
	if ck == nil || ck.Value != token || !ck.HttpOnly {
		t.Fatalf("login CSRF cookie %v does not carry the form token", ck)
	}
	form := url.Values{"email": {adminEmail}, "password": {adminPassword}}

	// No token in the form.
	r := c.post("/login", form)
	wantStatus(t, r, http.StatusForbidden)
	// A token that is not the cookie's.
	form.Set("csrf", token+"x")
	r = c.post("/login", form)
	wantStatus(t, r, http.StatusForbidden)
	// The right token but no cookie (a forged cross-site form).
	delete(c.cookies, web.LoginCSRFCookie)
	form.Set("csrf", token)
	r = c.post("/login", form)
	wantStatus(t, r, http.StatusForbidden)
	if setCookieFor(r, web.SessionCookie) != nil {
		t.Fatal("a refused login set a session")
	}
}

func TestPostsNeedTheSessionCSRFToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	c := e.client()
	c.login(adminEmail, adminPassword)
	token := c.csrf()

	for _, bad := range []string{"", "wrong-token", token[:len(token)-1]} {
		form := url.Values{"name": {"Forged"}}
		if bad != "" {
			form.Set("csrf", bad)
		}
		r := c.post("/projects", form)
		wantStatus(t, r, http.StatusForbidden)
		wantContains(t, r.body, "security token")
	}
	if n := len(e.projects()); n != 0 {
		t.Fatalf("%d projects created by forged posts", n)
	}
	// Logout without the token does not end the session either.
	wantStatus(t, c.post("/logout", url.Values{}), http.StatusForbidden)
	wantStatus(t, c.get("/projects"), http.StatusOK)

	// A browser that says the form came from another site is refused even
	// with the token.
	c.headers = map[string]string{"Sec-Fetch-Site": "cross-site"}
	wantStatus(t, c.post("/projects", url.Values{"csrf": {token}, "name": {"Cross"}}), http.StatusForbidden)
	c.headers = nil
	if n := len(e.projects()); n != 0 {
		t.Fatalf("%d projects created by cross-site posts", n)
	}

	r := c.post("/projects", url.Values{"csrf": {token}, "name": {"Real"}, "description": {"made here"}})
	wantStatus(t, r, http.StatusSeeOther)
	ps := e.projects()
	if len(ps) != 1 || ps[0].Name != "Real" || ps[0].Description != "made here" {
		t.Fatalf("projects %+v", ps)
	}
	if loc := r.Header.Get("Location"); loc != "/projects/"+ps[0].ID {
		t.Fatalf("create redirects to %q", loc)
	}
	r = c.get(r.Header.Get("Location"))
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "Project created.", "Real")
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	c := e.client()
	for i := 1; i <= web.DefaultLoginLimit; i++ {
		r := c.tryLogin(adminEmail, fmt.Sprintf("wrong-%d", i), "")
		wantStatus(t, r, http.StatusUnauthorized)
	}
	r := c.tryLogin(adminEmail, "wrong-11", "")
	wantStatus(t, r, http.StatusTooManyRequests)
	wantContains(t, r.body, "Too many sign-in attempts", "Try again in 5 minutes")
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
	// Over the limit even the right password is not checked.
	r = c.tryLogin(adminEmail, adminPassword, "")
	wantStatus(t, r, http.StatusTooManyRequests)
	if setCookieFor(r, web.SessionCookie) != nil {
		t.Fatal("a rate-limited login set a session")
	}

	// The same IP is limited for every email.
	r = c.tryLogin("someone@example.com", "whatever-pass", "")
	wantStatus(t, r, http.StatusTooManyRequests)

	// From another IP, the hammered email is limited too …
	other := e.client()
	other.remote = "198.51.100.7:5555"
	wantStatus(t, other.tryLogin(adminEmail, adminPassword, ""), http.StatusTooManyRequests)
	// … but another user signs in fine.
	e.user("bob@example.com", labelhub.RoleLabeler)
	other.login("bob@example.com", adminPassword)
}

func TestSuccessfulLoginsDoNotCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{LoginLimit: 3})
	for i := 0; i < 6; i++ {
		e.client().login(adminEmail, adminPassword)
	}
	c := e.client()
	for i := 0; i < 3; i++ {
		wantStatus(t, c.tryLogin(adminEmail, "wrong-password", ""), http.StatusUnauthorized)
	}
	wantStatus(t, c.tryLogin(adminEmail, "wrong-password", ""), http.StatusTooManyRequests)
}

func TestLabelerCannotCreateProjects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	e.user("lea@example.com", labelhub.RoleLabeler)
	c := e.client()
	c.login("lea@example.com", adminPassword)

	r := c.get("/projects")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "lea@example.com", ">labeler<")
	wantNotContains(t, r.body, `id="create-project"`, `action="/projects"`)

	token := find(t, metaCSRF, r.body)
	r = c.post("/projects", url.Values{"csrf": {token}, "name": {"Sneaky"}})
	wantStatus(t, r, http.StatusForbidden)
	wantContains(t, r.body, "labeler")
	if n := len(e.projects()); n != 0 {
		t.Fatalf("a labeler created %d projects", n)
	}

	// Nor edit, add batches to or delete an existing project; the page
	// shows the schema but no forms.
	p, err := e.store.CreateProject(context.Background(), e.org.ID, e.admin.ID, labelhub.ProjectInput{Name: ptr("Kept")})
	if err != nil {
		t.Fatal(err)
	}
	r = c.get("/projects/" + p.ID)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "Category schema", "Kept")
	wantNotContains(t, r.body, `id="edit-project"`, `id="create-batch"`, "/delete")
	wantStatus(t, c.post("/projects/"+p.ID, url.Values{"csrf": {token}, "name": {"Renamed"}}), http.StatusForbidden)
	wantStatus(t, c.post("/projects/"+p.ID+"/batches", url.Values{"csrf": {token}, "name": {"b"}}), http.StatusForbidden)
	wantStatus(t, c.post("/projects/"+p.ID+"/delete", url.Values{"csrf": {token}}), http.StatusForbidden)
	got, err := e.store.GetProject(context.Background(), e.org.ID, p.ID)
	if err != nil || got.Name != "Kept" {
		t.Fatalf("project after labeler posts: %+v, %v", got, err)
	}

	// Nor create users.
	r = c.get("/users")
	wantStatus(t, r, http.StatusOK)
	wantNotContains(t, r.body, `id="create-user"`)
	wantStatus(t, c.post("/users", url.Values{"csrf": {token}, "email": {"x@example.com"}, "role": {"admin"}}), http.StatusForbidden)
}

func TestAnotherOrganisationsProjectIsNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	ctx := context.Background()
	other, otherAdmin, _, err := e.store.CreateOrg(ctx, labelhub.NewOrg{Name: "Other Org", AdminEmail: "eve@example.com", AdminPassword: adminPassword}, false)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := e.store.CreateProject(ctx, other.ID, otherAdmin.ID, labelhub.ProjectInput{Name: ptr("Secret Project")})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.login(adminEmail, adminPassword)
	token := c.csrf()

	for _, r := range []response{
		c.get("/projects/" + theirs.ID),
		c.get("/projects/" + theirs.ID + "/delete"),
		c.post("/projects/"+theirs.ID, url.Values{"csrf": {token}, "name": {"Mine now"}}),
		c.post("/projects/"+theirs.ID+"/batches", url.Values{"csrf": {token}, "name": {"b"}}),
		c.post("/projects/"+theirs.ID+"/delete", url.Values{"csrf": {token}}),
		c.get("/projects/not-an-id"),
		c.get("/no/such/page"),
	} {
		wantStatus(t, r, http.StatusNotFound)
		wantNotContains(t, r.body, "Secret Project")
		wantContains(t, r.body, "Acme Vision") // the 404 page keeps the frame
	}
	got, err := e.store.GetProject(ctx, other.ID, theirs.ID)
	if err != nil || got.Name != "Secret Project" {
		t.Fatalf("other org's project: %+v, %v", got, err)
	}
	bs, _ := e.store.ListBatches(ctx, other.ID, theirs.ID, labelhub.PageRequest{})
	if len(bs.Items) != 0 {
		t.Fatal("a batch was added to another organisation's project")
	}
	// Nor is it listed.
	wantNotContains(t, c.get("/projects").body, "Secret Project")
}

func TestNextMustBeALocalPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	for next, want := range map[string]string{
		"//evil.example":              "/projects",
		"//evil.example/projects":     "/projects",
		"https://evil.example/":       "/projects",
		`/\evil.example`:              "/projects",
		"javascript:alert(1)":         "/projects",
		"/projects/abc?cursor=x#frag": "/projects/abc?cursor=x#frag",
		"/users":                      "/users",
	} {
		c := e.client()
		// The form does not even carry a foreign next.
		r := c.get("/login?next=" + url.QueryEscape(next))
		if want == "/projects" {
			wantNotContains(t, r.body, `name="next"`)
		}
		r = c.tryLogin(adminEmail, adminPassword, next)
		wantStatus(t, r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != want {
			t.Errorf("next=%q: redirected to %q, want %q", next, loc, want)
		}
		// A signed-in visit of /login with a foreign next stays home too.
		r = c.get("/login?next=" + url.QueryEscape(next))
		wantStatus(t, r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != want {
			t.Errorf("signed in, next=%q: redirected to %q, want %q", next, loc, want)
		}
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	c := e.client()
	check := func(r response) {
		t.Helper()
		h := r.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", r.Request.URL, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "same-origin" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", r.Request.URL, h)
		}
	}
	check(c.get("/login"))
	check(c.get("/projects"))
	check(c.get("/static/app.css"))
	check(c.get("/static/nope.css"))
	check(c.tryLogin(adminEmail, "wrong-password", ""))
	c.login(adminEmail, adminPassword)
	for _, p := range []string{"/projects", "/users", "/api-keys", "/nothing-here"} {
		r := c.get(p)
		check(r)
		// No inline script or style for the CSP to block.
		if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`).MatchString(r.body) || strings.Contains(r.body, " style=") || strings.Contains(r.body, "<style") {
			t.Errorf("%s has inline script or style", p)
		}
	}
}

func TestStaticFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	c := e.client()
	r := c.get("/login")
	css := find(t, regexp.MustCompile(`href="(/static/app\.css\?v=[0-9a-f]+)"`), r.body)
	js := find(t, regexp.MustCompile(`src="(/static/app\.js\?v=[0-9a-f]+)"`), r.body)
	rc := c.get(css)
	wantStatus(t, rc, http.StatusOK)
	if !strings.HasPrefix(rc.Header.Get("Content-Type"), "text/css") || !strings.Contains(rc.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("css headers %v", rc.Header)
	}
	wantContains(t, rc.body, ".sidebar")
	rj := c.get(js)
	wantStatus(t, rj, http.StatusOK)
	if !strings.Contains(rj.Header.Get("Content-Type"), "javascript") {
		t.Fatalf("js content type %q", rj.Header.Get("Content-Type"))
	}
	wantStatus(t, c.get("/static/"), http.StatusNotFound)
	wantStatus(t, c.get("/static/templates/layout.html"), http.StatusNotFound)
}

func TestProjectSchemaEditing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	c := e.client()
	c.login(adminEmail, adminPassword)
	token := c.csrf()
	r := c.post("/projects", url.Values{"csrf": {token}, "name": {"Streets"}})
	wantStatus(t, r, http.StatusSeeOther)
	page := r.Header.Get("Location")
	id := strings.TrimPrefix(page, "/projects/")

	// The edit form starts with the pretty-printed schema.
	r = c.get(page)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "&#34;tools&#34;: []", "No tools.")

	// Invalid: an unknown tool kind. The details name the path, and the
	// text typed stays in the textarea.
	bad := `{"tools": [{"title": "Car", "tool": "rectangle-ish"}]}`
	r = c.post(page, url.Values{"csrf": {token}, "name": {"Streets 2"}, "description": {"new words"}, "categorySchema": {bad}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, "categorySchema.tools[0].tool", "rectangle-ish", `value="Streets 2"`, "new words", "Not saved")
	// Broken JSON says where.
	r = c.post(page, url.Values{"csrf": {token}, "name": {"Streets"}, "categorySchema": {"{\n  \"tools\": [\n    {\"title\": \"Car\",}\n  ]\n}"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, "line 3, column")
	// Unknown fields are refused, wrong types named.
	r = c.post(page, url.Values{"csrf": {token}, "name": {"Streets"}, "categorySchema": {`{"tols": []}`}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, "tols")
	r = c.post(page, url.Values{"csrf": {token}, "name": {"Streets"}, "categorySchema": {`{"tools": [{"title": 5}]}`}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, "categorySchema.tools.title", "must be a string")
	p, _ := e.store.GetProject(context.Background(), e.org.ID, id)
	if p.Name != "Streets" || len(p.CategorySchema.Tools) != 0 {
		t.Fatalf("invalid edits changed the project: %+v", p)
	}

	good := `{
  "tools": [
    {"schemaId": "car", "title": "Car", "tool": "bounding-box", "color": "#e6194b",
     "classifications": [{"title": "Colour", "tool": "radio", "options": [{"value": "Red"}, {"value": "Blue"}]}]}
  ],
  "classifications": [
    {"title": "Kind", "tool": "tree-dropdown", "options": [{"value": "Vehicle", "children": [{"value": "Bus"}]}]}
  ],
  "relations": [{"title": "Follows", "tool": "single"}]
}`
	r = c.post(page, url.Values{"csrf": {token}, "name": {"Streets"}, "description": {"city scenes"}, "categorySchema": {good}})
	wantStatus(t, r, http.StatusSeeOther)
	r = c.get(page)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "Project saved.", "city scenes", ">Car<", ">bounding-box<", `fill="#e6194b"`,
		">Colour<", ">radio<", ">Red<", ">Blue<", ">Kind<", ">tree-dropdown<", ">Vehicle<", ">Bus<", ">Follows<", ">single<")
	p, _ = e.store.GetProject(context.Background(), e.org.ID, id)
	if len(p.CategorySchema.Tools) != 1 || p.CategorySchema.Tools[0].Classifications[0].SchemaID == "" {
		t.Fatalf("saved schema %+v", p.CategorySchema)
	}
	// 1 tool + 1 nested classification + 2 options + 1 classification + 2 options + 1 relation.
	r = c.get("/projects")
	if !regexp.MustCompile(`<td class="num">8</td>`).MatchString(r.body) {
		t.Fatalf("schema entries not 8 in:\n%s", r.body)
	}

	// Batches.
	wantStatus(t, c.post(page+"/batches", url.Values{"csrf": {token}, "name": {"week-1"}}), http.StatusSeeOther)
	r = c.post(page+"/batches", url.Values{"csrf": {token}, "name": {""}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, c.get(page).body, "week-1")

	// Delete asks first, then deletes.
	r = c.get(page + "/delete")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "cannot be undone", `action="/projects/`+id+`/delete"`)
	wantStatus(t, c.post(page+"/delete", url.Values{"csrf": {token}}), http.StatusSeeOther)
	if _, err := e.store.GetProject(context.Background(), e.org.ID, id); labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
		t.Fatalf("project not deleted: %v", err)
	}
	wantStatus(t, c.get(page), http.StatusNotFound)
}

func TestProjectsLoadMore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	for i := 0; i < 55; i++ {
		if _, err := e.store.CreateProject(context.Background(), e.org.ID, e.admin.ID, labelhub.ProjectInput{Name: ptr(fmt.Sprintf("P%02d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	c := e.client()
	c.login(adminEmail, adminPassword)
	r := c.get("/projects")
	wantContains(t, r.body, ">P00<", ">P49<")
	wantNotContains(t, r.body, ">P50<")
	more := find(t, regexp.MustCompile(`href="(/projects\?cursor=[^"]+)" data-load-more="projects-rows"`), r.body)
	r = c.get(more)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, ">P50<", ">P54<")
	wantNotContains(t, r.body, ">P49<", "data-load-more")
	wantStatus(t, c.get("/projects?cursor=garbage"), http.StatusBadRequest)
}

func TestUsersAndAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	c := e.client()
	c.login(adminEmail, adminPassword)
	token := c.csrf()

	r := c.get("/users")
	wantContains(t, r.body, `id="create-user"`, `<option value="project-manager"`)
	r = c.post("/users", url.Values{"csrf": {token}, "email": {"not-an-email"}, "role": {"reviewer"}, "password": {"long-enough-pw"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, "not-an-email", "email")
	wantNotContains(t, r.body, "long-enough-pw")
	r = c.post("/users", url.Values{"csrf": {token}, "email": {"rita@example.com"}, "name": {"Rita"}, "role": {"reviewer"}, "password": {"long-enough-pw"}})
	wantStatus(t, r, http.StatusSeeOther)
	r = c.get("/users")
	wantContains(t, r.body, "User created.", "rita@example.com", ">reviewer<")
	// The new user can sign in.
	e.client().login("rita@example.com", "long-enough-pw")

	// API keys: the secret shows once.
	r = c.post("/api-keys", url.Values{"csrf": {token}, "name": {"import script"}})
	wantStatus(t, r, http.StatusOK)
	secret := find(t, regexp.MustCompile(`<code id="new-key">([^<]+)</code>`), r.body)
	a, err := e.store.Authenticate(context.Background(), secret)
	if err != nil || a.User.ID != e.admin.ID {
		t.Fatalf("the shown key does not authenticate: %v", err)
	}
	r = c.get("/api-keys")
	wantContains(t, r.body, "import script", "initial admin key", "never")
	wantNotContains(t, r.body, secret)
	keyID := a.APIKeyID
	wantContains(t, r.body, "/api-keys/"+keyID+"/revoke")

	// Someone else's key cannot be revoked from here.
	bob := e.user("bob@example.com", labelhub.RoleAdmin)
	bk, _, err := e.store.CreateAPIKey(context.Background(), e.org.ID, bob.ID, "bob's")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c.post("/api-keys/"+bk.ID+"/revoke", url.Values{"csrf": {token}}), http.StatusNotFound)
	wantNotContains(t, c.get("/api-keys").body, "bob&#39;s")

	wantStatus(t, c.post("/api-keys/"+keyID+"/revoke", url.Values{"csrf": {token}}), http.StatusSeeOther)
	if _, err := e.store.Authenticate(context.Background(), secret); err == nil {
		t.Fatal("revoked key still authenticates")
	}
	r = c.get("/api-keys")
	wantContains(t, r.body, "API key revoked.", ">revoked<")
}

func TestLogoutEndsTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	c := e.client()
	c.login(adminEmail, adminPassword)
	session := c.cookies[web.SessionCookie].Value
	r := c.post("/logout", url.Values{"csrf": {c.csrf()}})
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/login" {
		t.Fatalf("logout redirects to %q", r.Header.Get("Location"))
	}
	if _, _, err := e.store.SessionActor(context.Background(), session); err == nil {
		t.Fatal("session still valid after logout")
	}
	// Even a replayed cookie no longer works.
	c.cookies[web.SessionCookie] = &http.Cookie{Name: web.SessionCookie, Value: session}
	wantStatus(t, c.get("/projects"), http.StatusSeeOther)
}

func ptr[T any](v T) *T { return &v }

// failingStore breaks one read with an error that is not a labelhub.Error.
type failingStore struct{ web.Store }

func (failingStore) ListProjects(context.Context, string, labelhub.PageRequest) (labelhub.Page[labelhub.Project], error) {
	return labelhub.Page[labelhub.Project]{}, errors.New("disk on fire at /var/lib/secret")
}

func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	var logs bytes.Buffer
	h, err := web.New(web.Config{Store: failingStore{e.store}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.h = h
	c.login(adminEmail, adminPassword)
	r := c.get("/projects")
	wantStatus(t, r, http.StatusInternalServerError)
	wantNotContains(t, r.body, "disk on fire", "/var/lib")
	ref := find(t, regexp.MustCompile(`Reference: <code>([0-9a-f]+)</code>`), r.body)
	if !strings.Contains(logs.String(), "disk on fire") || !strings.Contains(logs.String(), ref) {
		t.Fatalf("log lacks the error or its reference %s:\n%s", ref, logs.String())
	}
}

func TestSignedOutRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, web.Config{})
	c := e.client()
	r := c.get("/")
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/login" {
		t.Fatalf("/ signed out goes to %q", r.Header.Get("Location"))
	}
	// A POST without a session changes nothing and goes to the login form.
	r = c.post("/projects", url.Values{"name": {"Ghost"}})
	wantStatus(t, r, http.StatusSeeOther)
	if !strings.HasPrefix(r.Header.Get("Location"), "/login") || len(e.projects()) != 0 {
		t.Fatalf("signed-out POST: %q, %d projects", r.Header.Get("Location"), len(e.projects()))
	}
	// A made-up session cookie is no session.
	c.cookies[web.SessionCookie] = &http.Cookie{Name: web.SessionCookie, Value: "forged"}
	wantStatus(t, c.get("/users"), http.StatusSeeOther)

	c = e.client()
	c.login(adminEmail, adminPassword)
	r = c.get("/")
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/projects" {
		t.Fatalf("/ goes to %q", r.Header.Get("Location"))
	}
}
