package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/web"
)

// newPluginEnv is an env whose UI has a plugin hub.
func newPluginEnv(t *testing.T) (*env, *pluginhub.Hub) {
	t.Helper()
	e := &env{t: t}
	e.store, e.org, e.admin = orgStore(t)
	var err error
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := pluginhub.New(pluginhub.Config{Store: e.store, Logger: log, NewToken: sqlstore.NewRunToken,
		PollInterval: 20 * time.Millisecond, QueueTimeout: 3 * time.Minute})
	t.Cleanup(hub.Close)
	if e.h, err = web.New(web.Config{Store: e.store, Logger: log, Plugins: hub}); err != nil {
		t.Fatal(err)
	}
	return e, hub
}

var (
	secretRE   = regexp.MustCompile(`<code id="plugin-secret">(lhp_[^<]+)</code>`)
	pluginIDRE = regexp.MustCompile(`<code id="plugin-id">([0-9a-z]{26})</code>`)
	locationRE = regexp.MustCompile(`^/runs/([0-9a-z]{26})$`)
)

// The plugin pages without a browser: register (secret once), see it,
// rotate, run from a project with presets, watch and cancel the session.
func TestPluginPages(t *testing.T) {
	e, _ := newPluginEnv(t)
	ctx := context.Background()
	c := e.client()
	c.login(adminEmail, adminPassword)
	csrf := c.csrf()
	proj, err := e.store.CreateProject(ctx, e.org.ID, e.admin.ID, labelhub.ProjectInput{Name: ptr("Street scenes")})
	if err != nil {
		t.Fatal(err)
	}

	r := c.get("/plugins")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "No plugins yet", `id="create-plugin"`, `href="/plugins"`)

	// A default config that is not JSON is refused with its place.
	r = c.post("/plugins", url.Values{"csrf": {csrf}, "name": {"COCO"}, "type": {"export"}, "defaultConfig": {`{"a": }`}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, "defaultConfig", "offset 6")
	r = c.post("/plugins", url.Values{"csrf": {csrf}, "name": {"COCO"}, "type": {"export"}, "description": {"COCO export"},
		"defaultConfig": {`{"classes": ["car"]}`}})
	wantStatus(t, r, http.StatusCreated)
	secret := find(t, secretRE, r.body)
	id := find(t, pluginIDRE, r.body)
	wantContains(t, r.body, `<pre class="code small" id="plugin-start-python">run(plugin, host="http://`)
	if _, err := e.store.AuthenticatePlugin(ctx, id, secret); err != nil {
		t.Fatalf("the secret shown does not authenticate: %v", err)
	}
	r = c.get("/plugins")
	wantContains(t, r.body, "COCO", `data-online="false"`, "none connected")
	wantNotContains(t, r.body, secret)
	r = c.get("/plugins/" + id)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "offline — runs wait up to 3 minutes", "No process is connected", `id="rotate-secret"`)
	wantNotContains(t, r.body, secret)
	r = c.post("/plugins/"+id+"/rotate-secret", url.Values{"csrf": {csrf}})
	wantStatus(t, r, http.StatusOK)
	if s2 := find(t, secretRE, r.body); s2 == secret {
		t.Fatal("rotating kept the secret")
	} else if _, err := e.store.AuthenticatePlugin(ctx, id, secret); labelhub.ErrorCode(err) != labelhub.ECodeUnauthorized {
		t.Fatalf("old secret: %v", err)
	}

	// The project's Plugins section and the run dialog.
	r = c.get("/projects/" + proj.ID)
	wantContains(t, r.body, `href="/projects/`+proj.ID+`/plugins"`, `href="/projects/`+proj.ID+`/runs"`)
	r = c.get("/projects/" + proj.ID + "/plugins")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `href="/projects/`+proj.ID+`/plugins/`+id+`"`, "COCO")
	dialog := "/projects/" + proj.ID + "/plugins/" + id
	r = c.get(dialog)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "COCO export", "offline</strong> — the run will wait up to 3 minutes", "&#34;classes&#34;: [", "No presets yet")

	// Save as preset; the same name again needs Replace.
	save := func(name, config string, replace bool) response {
		f := url.Values{"csrf": {csrf}, "configJSON": {config}, "presetName": {name}}
		if replace {
			f.Set("replace", "true")
		}
		return c.post(dialog+"/presets", f)
	}
	r = save("only bikes", `{"classes": ["bike"]}`, false)
	wantStatus(t, r, http.StatusSeeOther)
	presets, err := e.store.ListPresets(ctx, e.org.ID, proj.ID, id, labelhub.PageRequest{})
	if err != nil || len(presets.Items) != 1 {
		t.Fatalf("presets %+v, %v", presets, err)
	}
	bikes := presets.Items[0]
	if loc := r.Header.Get("Location"); loc != dialog+"?preset="+bikes.ID {
		t.Fatalf("saved, redirected to %s", loc)
	}
	r = c.get(dialog + "?preset=" + bikes.ID)
	wantContains(t, r.body, "Preset saved.", "<option value=\""+bikes.ID+"\" data-config=\"{\n  &#34;classes&#34;: [\n    &#34;bike&#34;\n  ]\n}\" selected>only bikes</option>")
	if !strings.Contains(r.body, ">{\n  &#34;classes&#34;: [\n    &#34;bike&#34;\n  ]\n}</textarea>") {
		t.Fatalf("the editor does not hold the preset:\n%s", r.body)
	}
	r = save("only bikes", `{"classes": ["bike", "scooter"]}`, false)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, "exists already", "Replace", "scooter")
	wantStatus(t, save("only bikes", `{"classes": ["bike", "scooter"]}`, true), http.StatusSeeOther)
	if got, err := e.store.GetPreset(ctx, e.org.ID, bikes.ID); err != nil || !strings.Contains(got.ConfigJSON, "scooter") {
		t.Fatalf("replaced preset %+v, %v", got, err)
	}
	wantStatus(t, save("broken", `{"classes": [}`, false), http.StatusUnprocessableEntity)
	// A preset of another plugin or project is not offered by id.
	wantStatus(t, c.get("/projects/"+proj.ID+"/plugins/"+id+"?preset="+proj.ID), http.StatusNotFound)

	// Run: invalid JSON is refused with its place and starts nothing.
	r = c.post(dialog+"/run", url.Values{"csrf": {csrf}, "configJSON": {"{\n  \"classes\": [\"car\",]\n}"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, "not valid JSON", "offset 22 (line 2, column 21)", `aria-invalid="true"`)
	if runs, _ := e.store.ListRuns(ctx, e.org.ID, proj.ID, labelhub.PageRequest{}); len(runs.Items) != 0 {
		t.Fatalf("an invalid config started %d runs", len(runs.Items))
	}
	r = c.post(dialog+"/run", url.Values{"csrf": {csrf}, "configJSON": {`{"classes": ["car"]}`}})
	wantStatus(t, r, http.StatusSeeOther)
	runID := find(t, locationRE, r.Header.Get("Location"))
	run, err := e.store.GetRun(ctx, e.org.ID, runID)
	if err != nil || run.ConfigJSON != `{"classes": ["car"]}` || run.State != labelhub.RunQueued || run.RunBy != e.admin.ID {
		t.Fatalf("run %+v, %v", run, err)
	}
	r = c.get("/runs/" + runID)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `data-state="queued"`, `id="run-cancel"`, "Session of COCO", "Ada", `data-final="false"`, "&#34;car&#34;")
	r = c.get("/projects/" + proj.ID + "/runs")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `href="/runs/`+runID+`"`, "state-queued", "Ada")

	// Cancel: a queued run ends at once.
	r = c.post("/runs/"+runID+"/cancel", url.Values{"csrf": {csrf}})
	wantStatus(t, r, http.StatusSeeOther)
	r = c.get("/runs/" + runID)
	wantContains(t, r.body, `data-state="cancelled"`, `data-final="true"`, "Cancel requested.")
	wantNotContains(t, r.body, `id="run-cancel"`)
	// Without the form's token nothing happens.
	wantStatus(t, c.post("/runs/"+runID+"/cancel", url.Values{}), http.StatusForbidden)

	// Delete the preset, then the plugin.
	wantStatus(t, c.post("/presets/"+bikes.ID+"/delete", url.Values{"csrf": {csrf}}), http.StatusSeeOther)
	if _, err := e.store.GetPreset(ctx, e.org.ID, bikes.ID); labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
		t.Fatalf("preset after delete: %v", err)
	}
	r = c.post("/plugins/"+id+"/delete", url.Values{"csrf": {csrf}})
	wantStatus(t, r, http.StatusSeeOther)
	r = c.get("/plugins")
	wantContains(t, r.body, "Plugin deleted.", "No plugins yet")
	wantStatus(t, c.get("/plugins/"+id), http.StatusNotFound)
	wantStatus(t, c.get("/runs/"+runID), http.StatusNotFound)
}

// Roles: labelers see plugins and sessions but neither register, run,
// save presets nor cancel; another organisation's ids are not found.
func TestPluginPagesRoles(t *testing.T) {
	e, _ := newPluginEnv(t)
	ctx := context.Background()
	p, _, err := e.store.CreatePlugin(ctx, e.org.ID, e.admin.ID, labelhub.PluginInput{Name: ptr("YOLO"), Type: ptr(labelhub.PluginExport)})
	if err != nil {
		t.Fatal(err)
	}
	proj, err := e.store.CreateProject(ctx, e.org.ID, e.admin.ID, labelhub.ProjectInput{Name: ptr("P")})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := e.store.CreatePreset(ctx, e.org.ID, e.admin.ID, proj.ID, p.ID, labelhub.PresetInput{Name: ptr("fast"), ConfigJSON: ptr(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	e.user("lab@example.com", labelhub.RoleLabeler)
	c := e.client()
	c.login("lab@example.com", adminPassword)
	csrf := c.csrf()
	r := c.get("/plugins")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "YOLO")
	wantNotContains(t, r.body, `id="create-plugin"`)
	wantStatus(t, c.post("/plugins", url.Values{"csrf": {csrf}, "name": {"x"}, "type": {"export"}}), http.StatusForbidden)
	r = c.get("/plugins/" + p.ID)
	wantStatus(t, r, http.StatusOK)
	wantNotContains(t, r.body, `id="rotate-secret"`, `id="delete-plugin"`)
	wantStatus(t, c.post("/plugins/"+p.ID+"/rotate-secret", url.Values{"csrf": {csrf}}), http.StatusForbidden)
	wantStatus(t, c.post("/plugins/"+p.ID+"/delete", url.Values{"csrf": {csrf}}), http.StatusForbidden)
	dialog := "/projects/" + proj.ID + "/plugins/" + p.ID
	r = c.get(dialog)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "fast", "Your role may not run plugins")
	wantNotContains(t, r.body, `id="run-submit"`, `id="save-preset"`)
	wantStatus(t, c.post(dialog+"/run", url.Values{"csrf": {csrf}, "configJSON": {`{}`}}), http.StatusForbidden)
	wantStatus(t, c.post(dialog+"/presets", url.Values{"csrf": {csrf}, "configJSON": {`{}`}, "presetName": {"x"}}), http.StatusForbidden)
	wantStatus(t, c.post("/presets/"+pr.ID+"/delete", url.Values{"csrf": {csrf}}), http.StatusForbidden)

	// Another organisation: every page of these ids is not found.
	org2, _, _, err := e.store.CreateOrg(ctx, labelhub.NewOrg{Name: "Other", AdminEmail: "other@example.com", AdminName: "O", AdminPassword: adminPassword}, false)
	if err != nil {
		t.Fatal(err)
	}
	_ = org2
	o := e.client()
	o.remote = "192.0.2.11:40000"
	o.login("other@example.com", adminPassword)
	ocsrf := o.csrf()
	for _, path := range []string{"/plugins/" + p.ID, "/projects/" + proj.ID + "/plugins", dialog, dialog + "?preset=" + pr.ID, "/projects/" + proj.ID + "/runs"} {
		wantStatus(t, o.get(path), http.StatusNotFound)
	}
	for _, path := range []string{"/plugins/" + p.ID + "/rotate-secret", "/plugins/" + p.ID + "/delete", dialog + "/run", dialog + "/presets", "/presets/" + pr.ID + "/delete"} {
		wantStatus(t, o.post(path, url.Values{"csrf": {ocsrf}, "configJSON": {`{}`}, "presetName": {"x"}}), http.StatusNotFound)
	}
}
