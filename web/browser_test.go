package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/testservers"
	"github.com/labelhub/labelhub/web"
)

// screenshotForLead is where the browser test leaves a picture of the
// projects page for people to look at.
const screenshotForLead = "/tmp/labelhub-ui-projects.png"

const carSchema = `{
  "tools": [
    {"title": "Car", "tool": "bounding-box", "color": "#e6194b",
     "classifications": [{"title": "Occluded", "tool": "radio", "options": [{"value": "yes"}, {"value": "no"}]}]},
    {"title": "Lane", "tool": "polyline", "color": "#3cb44b"}
  ],
  "classifications": [
    {"title": "Weather", "tool": "single-dropdown", "options": [{"value": "Sunny"}, {"value": "Rain"}, {"value": "Fog"}]}
  ],
  "relations": [{"title": "Follows", "tool": "single"}]
}`

// TestBrowser drives the whole hub (API with the UI as its fallback) in
// headless Chromium: sign in, create a project, give it a schema, and read
// what the pages show. It does not run in parallel with the other tests,
// whose bcrypt work would slow the browser on a small machine.
func TestBrowser(t *testing.T) {
	if web.SessionCookie != httpapi.SessionCookie {
		t.Fatalf("the UI's session cookie %q is not the one the API reads (%q)", web.SessionCookie, httpapi.SessionCookie)
	}
	chromium := testservers.Chromium(t)
	store, _, _ := orgStore(t)
	srv := serveHub(t, store, web.Config{}, httpapi.Config{})
	defer srv.Close()

	b := newBrowser(t, chromium, 60*time.Second, 900)
	defer b.close()

	location := func() string {
		t.Helper()
		u, err := chromedp.Run(b.ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return u
	}

	// Signed out, /projects leads to the login form.
	b.do("open /projects", chromedp.Navigate(srv.URL+"/projects"), chromedp.WaitVisible(chromedp.ID("email")))
	if loc := location(); !strings.HasPrefix(loc, srv.URL+"/login?next=%2Fprojects") {
		t.Fatalf("not redirected to the login form: %s", loc)
	}
	b.submitLogin()
	if loc := location(); loc != srv.URL+"/projects" {
		t.Fatalf("after login at %s", loc)
	}
	if h := b.text(".topbar"); !strings.Contains(h, "Acme Vision") || !strings.Contains(h, adminEmail) || !strings.Contains(h, "admin") {
		t.Fatalf("header shows %q", h)
	}
	// The session cookie is HttpOnly: scripts cannot read it.
	cookies, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil || strings.Contains(cookies, web.SessionCookie) {
		t.Fatalf("document.cookie = %q, %v", cookies, err)
	}

	// Create a project with the form.
	b.do("create a project",
		chromedp.SendKeys(chromedp.ID("project-name"), "Browser Test Project"),
		chromedp.SendKeys(chromedp.ID("project-description"), "Made by the browser test."),
		chromedp.Click(chromedp.CSS(`#create-project button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("project-title")),
	)
	if got := b.text(".flash"); !strings.Contains(got, "Project created") {
		t.Fatalf("flash %q", got)
	}
	b.do("list projects", chromedp.Navigate(srv.URL+"/projects"), chromedp.WaitVisible(chromedp.ID("projects-table")))
	if got := b.text("#projects-table"); !strings.Contains(got, "Browser Test Project") {
		t.Fatalf("projects table does not list the project: %q", got)
	}
	// app.js runs under the CSP: it localises times (their title keeps the UTC time).
	localised, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector("#projects-table time").title.endsWith("Z")`))
	if err != nil || !localised {
		t.Fatalf("app.js did not run: %v %v", localised, err)
	}

	// Open it and paste a schema. A broken one first: the problems show
	// next to the form and the text stays.
	b.do("open the project",
		chromedp.Click(chromedp.CSS(`#projects-rows a.row-link`)),
		chromedp.WaitVisible(chromedp.ID("edit-schema")),
	)
	broken := strings.Replace(carSchema, `"bounding-box"`, `"bounding-blob"`, 1)
	b.do("save a broken schema",
		chromedp.SetValue(chromedp.ID("edit-schema"), broken),
		chromedp.Click(chromedp.ID("save-project")),
		chromedp.WaitVisible(chromedp.CSS("#edit-problems .alert-error")),
	)
	if got := b.text("#edit-problems"); !strings.Contains(got, "categorySchema.tools[0].tool") {
		t.Fatalf("problems panel: %q", got)
	}
	kept, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("edit-schema")))
	if err != nil || !strings.Contains(kept, "bounding-blob") {
		t.Fatalf("textarea after the error: %q, %v", kept, err)
	}

	b.do("save the schema",
		chromedp.SetValue(chromedp.ID("edit-schema"), carSchema),
		chromedp.Click(chromedp.ID("save-project")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	schema := b.text("#schema")
	for _, want := range []string{"Car", "bounding-box", "Occluded", "radio", "yes", "Lane", "polyline", "Weather", "Fog", "Follows", "single"} {
		if !strings.Contains(schema, want) {
			t.Fatalf("readable schema lacks %q:\n%s", want, schema)
		}
	}
	// The textarea now holds the saved schema, pretty-printed, with ids.
	saved, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("edit-schema")))
	if err != nil || !strings.Contains(saved, `"schemaId"`) || !strings.Contains(saved, "\n  \"tools\": [") {
		t.Fatalf("textarea after save: %q, %v", saved, err)
	}

	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "project.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if len(shot) < 10_000 || string(shot[1:4]) != "PNG" {
		t.Fatalf("screenshot is not a PNG of a page (%d bytes)", len(shot))
	}
	_ = os.WriteFile("/tmp/labelhub-ui-project.png", shot, 0o644)

	// The list now counts the schema's entries: 2 tools, a nested
	// classification with 2 options, a classification with 3, a relation.
	b.do("list projects again", chromedp.Navigate(srv.URL+"/projects"), chromedp.WaitVisible(chromedp.ID("projects-table")))
	if got := b.text("#projects-rows td.num"); got != "10" {
		t.Fatalf("schema entries shown: %q, want 10", got)
	}
	if shot, err = chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(screenshotForLead, shot, 0o644); err != nil {
		t.Logf("could not save %s: %v", screenshotForLead, err)
	}
}
