package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/seal"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/web"
)

const (
	adminEmail    = "ada@example.com"
	adminPassword = "correct-horse-battery"
)

// env is a UI handler on a fresh SQLite store with one organisation.
type env struct {
	t       *testing.T
	store   *sqlstore.Store
	h       http.Handler
	org     labelhub.Organization
	admin   labelhub.User
	storage *storage.Service
}

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "labelhub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newEnv(t *testing.T, cfg web.Config) *env {
	t.Helper()
	e := &env{t: t}
	e.store, e.org, e.admin = orgStore(t)
	var err error
	cfg.Store = e.store
	if cfg.Storage == nil {
		box, err := seal.New(bytes.Repeat([]byte{4}, seal.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Storage = storage.NewService(e.store, storage.Options{Box: box, AllowPrivateEndpoints: true})
		t.Cleanup(func() { cfg.Storage.Close() })
	}
	e.storage = cfg.Storage
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.h, err = web.New(cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

// user adds a user with a password to the env's organisation.
func (e *env) user(email string, role labelhub.Role) labelhub.User {
	e.t.Helper()
	u, err := e.store.CreateUser(context.Background(), e.org.ID, labelhub.NewUser{Email: email, Role: role, Password: adminPassword})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) projects() []labelhub.Project {
	e.t.Helper()
	p, err := e.store.ListProjects(context.Background(), e.org.ID, labelhub.PageRequest{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Items
}

// client is a browser-like caller of the handler: it keeps cookies and
// comes from one remote address. It does not follow redirects.
type client struct {
	t       *testing.T
	h       http.Handler
	remote  string
	headers map[string]string
	cookies map[string]*http.Cookie
}

func (e *env) client() *client {
	return &client{t: e.t, h: e.h, remote: "192.0.2.10:40000", cookies: map[string]*http.Cookie{}}
}

type response struct {
	*http.Response
	body string
}

func (c *client) do(method, target string, form url.Values) response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	req.RemoteAddr = c.remote
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	for _, ck := range c.cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	res := rec.Result()
	res.Request = req
	b, _ := io.ReadAll(res.Body)
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	return response{res, string(b)}
}

func (c *client) get(target string) response { return c.do(http.MethodGet, target, nil) }

func (c *client) post(target string, form url.Values) response {
	return c.do(http.MethodPost, target, form)
}

var (
	hiddenCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	metaCSRF   = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
)

func find(t *testing.T, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no match for %s in:\n%s", re, body)
	}
	return html.UnescapeString(m[1])
}

// loginForm opens the login form and returns its CSRF token.
func (c *client) loginForm() string {
	c.t.Helper()
	r := c.get("/login")
	if r.StatusCode != http.StatusOK {
		c.t.Fatalf("GET /login: %d", r.StatusCode)
	}
	return find(c.t, hiddenCSRF, r.body)
}

func (c *client) tryLogin(email, password, next string) response {
	c.t.Helper()
	form := url.Values{"csrf": {c.loginForm()}, "email": {email}, "password": {password}}
	if next != "" {
		form.Set("next", next)
	}
	return c.post("/login", form)
}

func (c *client) login(email, password string) {
	c.t.Helper()
	r := c.tryLogin(email, password, "")
	if r.StatusCode != http.StatusSeeOther || c.cookies[web.SessionCookie] == nil {
		c.t.Fatalf("login as %s: %d %s", email, r.StatusCode, r.body)
	}
}

// csrf returns the session's CSRF token, read from a page.
func (c *client) csrf() string {
	c.t.Helper()
	r := c.get("/projects")
	if r.StatusCode != http.StatusOK {
		c.t.Fatalf("GET /projects: %d", r.StatusCode)
	}
	return find(c.t, metaCSRF, r.body)
}

func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL, r.StatusCode, want, r.body)
	}
}

func wantContains(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Fatalf("page does not contain %q:\n%s", s, body)
		}
	}
}

func wantNotContains(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(body, s) {
			t.Fatalf("page contains %q:\n%s", s, body)
		}
	}
}

func setCookieFor(r response, name string) *http.Cookie {
	for _, ck := range r.Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// orgStore is a fresh store with one organisation whose admin signs in
// with adminEmail and adminPassword.
func orgStore(t *testing.T) (*sqlstore.Store, labelhub.Organization, labelhub.User) {
	t.Helper()
	store := openStore(t)
	org, admin, _, err := store.CreateOrg(context.Background(), labelhub.NewOrg{
		Name: "Acme Vision", AdminEmail: adminEmail, AdminName: "Ada", AdminPassword: adminPassword,
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	return store, org, admin
}

// serveHub serves the API with the UI as its fallback, both over store
// with the settings in ui and api (a nil Logger discards). Callers defer
// Close.
func serveHub(t *testing.T, store *sqlstore.Store, ui web.Config, api httpapi.Config) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if ui.Logger == nil {
		ui.Logger = log
	}
	if api.Logger == nil {
		api.Logger = log
	}
	ui.Store, api.Store = store, store
	h, err := web.New(ui)
	if err != nil {
		t.Fatal(err)
	}
	api.Fallback = h
	return httptest.NewServer(httpapi.New(api))
}

// browser is a tab of headless Chromium for the browser tests.
type browser struct {
	t     *testing.T
	ctx   context.Context
	close func()
	// pollFor is how long poll waits.
	pollFor time.Duration
}

// newBrowser starts the Chromium at path with a 1360×height window. A hung
// browser fails the test after timeout instead of hanging it. Callers
// defer close.
func newBrowser(t *testing.T, chromium string, timeout time.Duration, height int) *browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, height),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	return &browser{t: t, ctx: bctx, close: func() { cancelBrowser(); cancelAlloc(); cancel() }, pollFor: 30 * time.Second}
}

// do runs steps, failing the test with what on an error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// text is the text of the element sel selects.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// poll waits up to pollFor for the JavaScript expr to be true.
func (b *browser) poll(what, expr string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(b.pollFor))); err != nil {
		b.t.Fatalf("%s (%s): %v", what, expr, err)
	}
}

// runSucceeds waits on a session page until the run has ended and fails
// the test with the run's state and error unless it succeeded.
func (b *browser) runSucceeds(what string) {
	b.t.Helper()
	ended := `document.getElementById("run-live").getAttribute("data-final") === "true"`
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](ended, chromedp.WithPollingTimeout(b.pollFor))); err != nil {
		b.t.Fatalf("%s: the run has not ended after %s: state %q, progress %q: %v", what, b.pollFor,
			b.eval(what, `document.getElementById("run-state").getAttribute("data-state")`),
			b.eval(what, `(document.getElementById("run-progress-text") || {}).textContent || ""`), err)
	}
	if state := b.eval(what, `document.getElementById("run-state").getAttribute("data-state")`); state != "succeeded" {
		b.t.Fatalf("%s: the run %s: %s", what, state, b.eval(what, `document.getElementById("run-error").textContent`))
	}
}

// eval is the string the JavaScript expr evaluates to.
func (b *browser) eval(what, expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return s
}

// settle waits up to pollFor for the JavaScript expr to be true across a
// navigation: reads that race the page change fail and are tried again.
func (b *browser) settle(what, expr string) {
	b.t.Helper()
	var last error
	for deadline := time.Now().Add(b.pollFor); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		last = err
	}
	b.t.Fatalf("%s (%s): %v", what, expr, last)
}

// signIn opens target, which shows the login form, and signs in as the
// admin.
func (b *browser) signIn(target string) {
	b.t.Helper()
	b.do("open the login form", chromedp.Navigate(target), chromedp.WaitVisible(chromedp.ID("email")))
	b.submitLogin()
}

// submitLogin fills in the open login form as the admin and waits for the
// projects page.
func (b *browser) submitLogin() {
	b.t.Helper()
	b.do("sign in",
		chromedp.SendKeys(chromedp.ID("email"), adminEmail),
		chromedp.SendKeys(chromedp.ID("password"), adminPassword),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("create-project")),
	)
}

// servePlugin serves the registered plugin p with handler against the hub
// at host until the test ends, and waits until its process is connected.
func servePlugin(t *testing.T, store *sqlstore.Store, host string, p labelhub.Plugin, secret string, handler plugin.Handler) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = plugin.Run(ctx, plugin.Config{Host: host, ID: p.ID, Secret: secret, Concurrency: 1,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}, handler)
	}()
	t.Cleanup(func() { stop(); <-done })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if in, err := store.ListInstances(ctx, p.ID); err == nil && len(in) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plugin %s did not connect", p.Name)
		}
	}
}

// navigate runs an action that leaves the page and waits up to pollFor
// for the next one to hold the element id.
func (b *browser) navigate(what string, action chromedp.Action[chromedp.Void], id string) {
	b.t.Helper()
	b.eval("mark the page", `(function () { window.oldPage = true; return ""; })()`)
	b.do(what, action)
	b.settle(what, `!window.oldPage && document.readyState === "complete" && document.getElementById(`+jsString(id)+`) !== null`)
}

// fetchZip downloads href with the browser's session and opens it as a zip.
func (b *browser) fetchZip(href string) *zip.Reader {
	b.t.Helper()
	enc, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`fetch(`+jsString(href)+`, { credentials: "same-origin" })
		.then(function (res) { if (!res.ok) throw new Error("status " + res.status); return res.arrayBuffer(); })
		.then(function (buf) { var s = "", a = new Uint8Array(buf); for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]); return btoa(s); })`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("fetch the download: %v", err)
	}
	data, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		b.t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.t.Fatalf("the download is not a zip (%d bytes): %v", len(data), err)
	}
	return zr
}
