package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/fileexplorer"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/seal"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/testservers"
	"github.com/labelhub/labelhub/web"
)

// explorerHub is a hub (API and UI) with a MinIO storage integration, a
// project, and a File Explorer plugin connected with the SDK.
type explorerHub struct {
	t           *testing.T
	store       *sqlstore.Store
	org         labelhub.Organization
	admin       labelhub.User
	storages    *storage.Service
	srv         *httptest.Server
	project     labelhub.Project
	integration labelhub.Storage
	plugin      labelhub.Plugin
	bucket      string
	// The MinIO server and its credentials, for plugins that list the
	// bucket themselves.
	endpoint, accessKey, secretKey string
}

// newExplorerHub puts objects in a new MinIO bucket and serves a hub whose
// File Explorer plugin lists pageSize entries a page.
func newExplorerHub(t *testing.T, objects map[string]string, pageSize int) *explorerHub {
	t.Helper()
	ctx := context.Background()
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, objects)
	h := &explorerHub{t: t, bucket: bucket, endpoint: endpoint, accessKey: ak, secretKey: sk}
	h.store, h.org, h.admin = orgStore(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	box, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	h.storages = storage.NewService(h.store, storage.Options{Box: box, AllowPrivateEndpoints: true})
	runner := imports.New(imports.Config{Store: h.store, SpoolDir: t.TempDir(), Logger: log,
		Integrations: httpapi.StorageIntegrations(h.storages), Buckets: h.storages.Bucket})
	hub := pluginhub.New(pluginhub.Config{Store: h.store, Logger: log, NewToken: sqlstore.NewRunToken,
		PollInterval: 50 * time.Millisecond, Heartbeat: time.Second, CancelGrace: 5 * time.Second})
	h.srv = serveHub(t, h.store, web.Config{Logger: log, Plugins: hub, Storage: h.storages, Imports: runner},
		httpapi.Config{Logger: log, Plugins: hub, RunTokens: h.store, Storage: h.storages, Imports: runner})

	if h.project, err = h.store.CreateProject(ctx, h.org.ID, h.admin.ID, labelhub.ProjectInput{Name: ptr("Street scenes")}); err != nil {
		t.Fatal(err)
	}
	if h.integration, err = h.storages.Create(ctx, h.org.ID, h.admin.ID, labelhub.StorageInput{Name: "Lab MinIO",
		Provider: labelhub.ProviderS3Compatible, Bucket: bucket, Endpoint: endpoint,
		Credentials: labelhub.StorageCredentials{AccessKeyID: ak, SecretAccessKey: sk}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.srv.CloseClientConnections()
		h.srv.Close()
		hub.Close()
		runner.Close()
		h.storages.Close()
	})
	h.plugin = h.addPlugin("Bucket explorer", fmt.Sprintf(`{"pageSize": %d, "pollMillis": 50}`, pageSize), fileexplorer.Handler())
	return h
}

// addPlugin registers a File Explorer plugin with its default config and
// serves it with handler until the test ends.
func (h *explorerHub) addPlugin(name, config string, handler plugin.Handler) labelhub.Plugin {
	t := h.t
	t.Helper()
	ctx := context.Background()
	p, secret, err := h.store.CreatePlugin(ctx, h.org.ID, h.admin.ID, labelhub.PluginInput{Name: ptr(name),
		Type: ptr(labelhub.PluginFileExplorer), DefaultConfig: ptr(config)})
	if err != nil {
		t.Fatal(err)
	}
	pctx, stopPlugin := context.WithCancel(ctx)
	pluginDone := make(chan struct{})
	go func() {
		defer close(pluginDone)
		_ = plugin.Run(pctx, plugin.Config{Host: h.srv.URL, ID: p.ID, Secret: secret, Concurrency: 2,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}, handler)
	}()
	t.Cleanup(func() { stopPlugin(); <-pluginDone })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if in, err := h.store.ListInstances(ctx, p.ID); err == nil && len(in) > 0 {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plugin %s did not connect", name)
		}
	}
}

// client is a signed-in caller of the hub's handler, as the admin.
func (h *explorerHub) client() *client {
	c := &client{t: h.t, h: h.srv.Config.Handler, remote: "192.0.2.10:40000", cookies: map[string]*http.Cookie{}}
	c.login(adminEmail, adminPassword)
	return c
}

// explorerURL is the dialog at folder of the hub's integration.
func (h *explorerHub) explorerURL(folder, scrollToken string) string {
	u := "/projects/" + h.project.ID + "/plugins/" + h.plugin.ID + "/files?integration=" + h.integration.ID + "&folder=" + url.QueryEscape(folder)
	if scrollToken != "" {
		u += "&scrollToken=" + url.QueryEscape(scrollToken)
	}
	return u
}

// assetKeys are the externalIds of the project's assets.
func (h *explorerHub) assetKeys() map[string]bool {
	h.t.Helper()
	keys := map[string]bool{}
	for cursor := ""; ; {
		page, err := h.store.ListAssets(context.Background(), h.org.ID, h.project.ID, labelhub.AssetFilter{}, labelhub.PageRequest{Limit: labelhub.MaxPageLimit, Cursor: cursor})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, a := range page.Items {
			if keys[a.ExternalID] {
				h.t.Fatalf("asset %q is in the project twice", a.ExternalID)
			}
			keys[a.ExternalID] = true
		}
		if cursor = page.NextCursor; cursor == "" {
			return keys
		}
	}
}

var explorerRowRe = regexp.MustCompile(`<tr class="(folder|file)-row" data-(?:folder|key)="([^"]*)"`)

// explorerRows are the folders and files a dialog page lists, in order.
func explorerRows(body string) []string {
	var out []string
	for _, m := range explorerRowRe.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1]+":"+html.UnescapeString(m[2]))
	}
	return out
}

var scrollTokenRe = regexp.MustCompile(`href="[^"]*scrollToken=([^"&]+)" data-load-more="explorer-rows"`)

// listAll follows the dialog's pages of folder (each at most pageSize
// rows) and returns every row once, sorted (whatever order the store
// pages them in), and the scroll token that opened the last page.
func (h *explorerHub) listAll(c *client, folder string, pageSize int) ([]string, string) {
	t := h.t
	t.Helper()
	var all []string
	token := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("the pages do not end")
		}
		r := c.get(h.explorerURL(folder, token))
		wantStatus(t, r, http.StatusOK)
		rows := explorerRows(r.body)
		if len(rows) == 0 || len(rows) > pageSize {
			t.Fatalf("page %d of %s has %d rows: %v", page, folder, len(rows), rows)
		}
		all = append(all, rows...)
		m := scrollTokenRe.FindStringSubmatch(r.body)
		if m == nil {
			break
		}
		token, _ = url.QueryUnescape(html.UnescapeString(m[1]))
	}
	slices.Sort(all)
	return all, token
}

// TestFileExplorerDialog: the dialog's server side without a browser —
// listing pages (folders, files with size and asset type, paging with the
// scroll token, breadcrumbs), errors of the folder, CSRF on the import,
// other organisations' integrations, and an import that starts a run.
func TestFileExplorerDialog(t *testing.T) {
	h := newExplorerHub(t, map[string]string{
		"street/cam 1.jpg": "jpeg", "street/a+b.png": "png", "street/café.jpg": "jpeg", "street/notes.bin": "bin",
		"street/night/n1.jpg": "jpeg", "readme.md": "# data",
	}, 2)
	c := h.client()
	ctx := context.Background()

	// The Plugins tab opens a File Explorer in the dialog.
	r := c.get("/projects/" + h.project.ID + "/plugins")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `href="/projects/`+h.project.ID+`/plugins/`+h.plugin.ID+`/files"`)

	// The only integration is chosen; the root lists the folder and the file.
	r = c.get("/projects/" + h.project.ID + "/plugins/" + h.plugin.ID + "/files")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "Street scenes", `value="`+h.bucket+`"`, "Lab MinIO")
	if got := explorerRows(r.body); strings.Join(got, ",") != "folder:street/,file:readme.md" {
		t.Fatalf("root rows %v", got)
	}
	wantContains(t, r.body, "✓ text", "6 B")

	// street/ in pages of two: the scroll token leads to the next page.
	all, token := h.listAll(c, "street/", 2)
	want := "file:street/a+b.png,file:street/café.jpg,file:street/cam 1.jpg,file:street/notes.bin,folder:street/night/"
	if got := strings.Join(all, ","); got != want {
		t.Fatalf("street/ rows\n got %s\nwant %s", got, want)
	}
	// Breadcrumbs lead back to the root; the non-asset is marked.
	r = c.get(h.explorerURL("street/night/", ""))
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `<strong aria-current="location">night</strong>`, `data-prefix="street/" href="`+html.EscapeString(h.explorerURL("street/", ""))+`">street</a>`,
		`data-prefix="" href="`+html.EscapeString(h.explorerURL("", ""))+`">`+h.bucket+`</a>`)
	r = c.get(h.explorerURL("street/", token))
	wantContains(t, r.body, "✗ not an asset")

	// A folder with "..", or a leading slash, is refused in place.
	for _, bad := range []string{"street/../x/", "/street/"} {
		r = c.get(h.explorerURL(bad, ""))
		wantStatus(t, r, http.StatusBadRequest)
		wantContains(t, r.body, `id="explorer-error"`)
	}

	// Another organisation's integration is not found, in the dialog and
	// in the import.
	other, otherAdmin, _, err := h.store.CreateOrg(ctx, labelhub.NewOrg{Name: "Other", AdminEmail: "eve@example.com", AdminPassword: adminPassword}, true)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := h.storages.Create(ctx, other.ID, otherAdmin.ID, labelhub.StorageInput{Name: "Their bucket", Provider: labelhub.ProviderS3,
		Bucket: "their-bucket", Region: "eu-west-1", Credentials: labelhub.StorageCredentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "theirs"}})
	if err != nil {
		t.Fatal(err)
	}
	r = c.get("/projects/" + h.project.ID + "/plugins/" + h.plugin.ID + "/files?integration=" + theirs.ID)
	wantStatus(t, r, http.StatusNotFound)
	wantNotContains(t, r.body, "their-bucket")
	importURL := "/projects/" + h.project.ID + "/plugins/" + h.plugin.ID + "/import"
	csrf := c.csrf()
	r = c.post(importURL, url.Values{"csrf": {csrf}, "integration": {theirs.ID}, "folder": {""}, "mode": {"folder"}})
	wantStatus(t, r, http.StatusNotFound)

	runsOf := func() []labelhub.Run {
		t.Helper()
		page, err := h.store.ListRuns(ctx, h.org.ID, h.project.ID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit})
		if err != nil {
			t.Fatal(err)
		}
		var imports []labelhub.Run
		for _, run := range page.Items {
			if strings.Contains(string(run.Params), `"upload":true`) {
				imports = append(imports, run)
			}
		}
		return imports
	}
	// CSRF: an import without the token, or with another, starts nothing.
	for _, tok := range []string{"", "not-the-token"} {
		r = c.post(importURL, url.Values{"csrf": {tok}, "integration": {h.integration.ID}, "folder": {"street/"}, "mode": {"folder"}})
		wantStatus(t, r, http.StatusForbidden)
	}
	// Importing a selection with nothing selected says so.
	r = c.post(importURL, url.Values{"csrf": {csrf}, "integration": {h.integration.ID}, "folder": {"street/"}, "mode": {"files"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	wantContains(t, r.body, "Select at least one file")
	if n := len(runsOf()); n != 0 {
		t.Fatalf("refused imports started %d runs", n)
	}

	// A selection: two files, one of them not an asset, into a new batch.
	r = c.post(importURL, url.Values{"csrf": {csrf}, "integration": {h.integration.ID}, "folder": {"street/"}, "mode": {"files"},
		"files": {"street/cam 1.jpg", "street/notes.bin"}, "newBatch": {"week 12"}})
	wantStatus(t, r, http.StatusSeeOther)
	runs := runsOf()
	if len(runs) != 1 || r.Header.Get("Location") != "/runs/"+runs[0].ID {
		t.Fatalf("runs %+v, location %s", runs, r.Header.Get("Location"))
	}
	var params map[string]any
	if err := json.Unmarshal(runs[0].Params, &params); err != nil {
		t.Fatal(err)
	}
	if params["integrationId"] != h.integration.ID || params["bucket"] != h.bucket || params["folder"] != "street/" ||
		fmt.Sprint(params["files"]) != "[street/cam 1.jpg street/notes.bin]" || fmt.Sprint(params["batches"]) != "[week 12]" {
		t.Fatalf("params %s", runs[0].Params)
	}
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	run, err := h.store.GetRun(hctx, h.org.ID, runs[0].ID)
	for err == nil && !run.State.Final() && hctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
		run, err = h.store.GetRun(hctx, h.org.ID, runs[0].ID)
	}
	if err != nil || run.State != labelhub.RunSucceeded {
		t.Fatalf("import run %+v, %v", run, err)
	}
	if keys := h.assetKeys(); len(keys) != 1 || !keys["street/cam 1.jpg"] {
		t.Fatalf("assets %v", keys)
	}
	// Its session page shows the summary.
	r = c.get("/runs/" + run.ID)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `id="explorer-summary"`, `data-summary="listed">2<`, `data-summary="imported">1<`,
		`data-summary="alreadyThere">0<`, `data-summary="notAssets">1<`, "2 selected files of", "week 12")
}

// TestFileExplorerDialogCustomPlugins: a custom File Explorer that names
// its files without sizes or types gets plain rows; its failure shows in
// the dialog with a link to the listing's session; an offline plugin is
// said to be offline without starting a run.
func TestFileExplorerDialogCustomPlugins(t *testing.T) {
	h := newExplorerHub(t, map[string]string{"a.jpg": "jpeg"}, 10)
	ctx := context.Background()
	plain := h.addPlugin("Plain lister", "", plugin.FileExplorerFunc(func(ctx context.Context, r *plugin.FileExplorerRequest) (plugin.FileExplorerResult, error) {
		if r.Folder == "broken/" {
			return plugin.FileExplorerResult{}, errors.New("the folder broken/ is not readable")
		}
		return plugin.FileExplorerResult{Folders: []string{r.Folder + "sub/"}, Files: []string{r.Folder + "a.jpg"}}, nil
	}))
	c := h.client()
	base := "/projects/" + h.project.ID + "/plugins/" + plain.ID + "/files?integration=" + h.integration.ID + "&folder="
	r := c.get(base)
	wantStatus(t, r, http.StatusOK)
	if got := strings.Join(explorerRows(r.body), ","); got != "folder:sub/,file:a.jpg" {
		t.Fatalf("rows %s", got)
	}
	wantNotContains(t, r.body, "✓", "not an asset")

	r = c.get(base + "broken/")
	wantStatus(t, r, http.StatusBadGateway)
	wantContains(t, r.body, `id="explorer-error"`, "Plain lister could not list the folder: the folder broken/ is not readable", "See the listing's session")
	wantNotContains(t, r.body, `id="explorer-import-form"`)

	offline, _, err := h.store.CreatePlugin(ctx, h.org.ID, h.admin.ID, labelhub.PluginInput{Name: ptr("Sleeper"), Type: ptr(labelhub.PluginFileExplorer)})
	if err != nil {
		t.Fatal(err)
	}
	before, err := h.store.ListRuns(ctx, h.org.ID, h.project.ID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	r = c.get("/projects/" + h.project.ID + "/plugins/" + offline.ID + "/files")
	wantStatus(t, r, http.StatusServiceUnavailable)
	wantContains(t, r.body, "Sleeper is offline")
	after, err := h.store.ListRuns(ctx, h.org.ID, h.project.ID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit})
	if err != nil || len(after.Items) != len(before.Items) {
		t.Fatalf("an offline plugin got runs: %d then %d (%v)", len(before.Items), len(after.Items), err)
	}

	// An export plugin has no File Explorer dialog.
	exp, _, err := h.store.CreatePlugin(ctx, h.org.ID, h.admin.ID, labelhub.PluginInput{Name: ptr("Zipper"), Type: ptr(labelhub.PluginExport)})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c.get("/projects/"+h.project.ID+"/plugins/"+exp.ID+"/files"), http.StatusNotFound)
}
