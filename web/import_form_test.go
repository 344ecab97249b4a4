package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/web"
)

// importEnv is a UI handler with an import runner, as `labelhub serve`
// wires it.
func importEnv(t *testing.T) (*env, labelhub.Project) {
	t.Helper()
	e := &env{t: t}
	e.store, e.org, e.admin = orgStore(t)
	var err error
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner := imports.New(imports.Config{Store: e.store, SpoolDir: t.TempDir(), Logger: log, BatchSize: 3})
	t.Cleanup(runner.Close)
	if e.h, err = web.New(web.Config{Store: e.store, Logger: log, Imports: runner}); err != nil {
		t.Fatal(err)
	}
	p, err := e.store.CreateProject(context.Background(), e.org.ID, e.admin.ID, labelhub.ProjectInput{Name: ptr("Streets")})
	if err != nil {
		t.Fatal(err)
	}
	return e, p
}

// postImportForm sends a multipart/form-data body as a browser does when it
// submits a form with a file input and no script runs: the fields in
// document order, then the file.
func (c *client) postImportForm(target string, fields [][2]string, fileName string, file []byte) response {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			c.t.Fatal(err)
		}
	}
	if fileName != "" {
		fw, err := mw.CreateFormFile("file", fileName)
		if err != nil {
			c.t.Fatal(err)
		}
		fw.Write(file)
	}
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, target, &body)
	req.RemoteAddr = c.remote
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", "http://example.com")
	for _, ck := range c.cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	res := rec.Result()
	res.Request = req
	b, _ := io.ReadAll(res.Body)
	return response{res, string(b)}
}

// formFields reads the names of the import form's fields in document order.
var formField = regexp.MustCompile(`<(?:input|select)[^>]*name="([^"]+)"`)

// TestImportFormWithoutScript posts the Assets tab's "Add data" form the
// way a browser without JavaScript does (multipart, the CSRF token from the
// page, an NDJSON file) and follows the redirect to the import's page.
func TestImportFormWithoutScript(t *testing.T) {
	e, p := importEnv(t)
	c := e.client()
	c.login(adminEmail, adminPassword)

	page := c.get("/projects/" + p.ID + "/assets")
	wantStatus(t, page, http.StatusOK)
	i := strings.Index(page.body, `id="import-form"`)
	if i < 0 {
		t.Fatalf("no import form on the Assets tab:\n%s", page.body)
	}
	form := page.body[strings.LastIndex(page.body[:i], "<form"):]
	form = form[:strings.Index(form, "</form>")]
	wantContains(t, form, `enctype="multipart/form-data"`, `action="/projects/`+p.ID+`/imports"`)
	var names []string
	for _, m := range formField.FindAllStringSubmatch(form, -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 || names[0] != "csrf" || names[len(names)-1] != "file" {
		t.Fatalf("form fields %v: the handler needs csrf first and the file last", names)
	}
	token := find(t, hiddenCSRF, form)

	var file strings.Builder
	for i := 1; i <= 7; i++ {
		fmt.Fprintf(&file, `{"externalId":"street-%d","data":"https://images.example.com/street-%d.jpg","metadata":{"camera":"front"}}`+"\n", i, i)
	}
	file.WriteString(`{"externalId":"broken","data":"https://images.example.com/broken.jpg","type":"nope"}` + "\n")
	file.WriteString(`{"externalId":"street-1","data":"https://images.example.com/again.jpg"}` + "\n")
	fields := [][2]string{{"csrf", token}, {"storageId", ""}, {"newBatches", "week-12"}, {"onDuplicate", "error"}}

	// Without the token nothing is imported.
	bad := c.postImportForm("/projects/"+p.ID+"/imports", [][2]string{{"csrf", "wrong"}}, "assets.ndjson", []byte(file.String()))
	if bad.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong CSRF token: status %d, want 403\n%s", bad.StatusCode, bad.body)
	}
	// Without a file the form says so.
	nofile := c.postImportForm("/projects/"+p.ID+"/imports", fields, "", nil)
	wantStatus(t, nofile, http.StatusBadRequest)
	wantContains(t, nofile.body, "Choose a JSON or NDJSON file")

	r := c.postImportForm("/projects/"+p.ID+"/imports", fields, "assets.ndjson", []byte(file.String()))
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	prefix := "/projects/" + p.ID + "/imports/"
	if !strings.HasPrefix(loc, prefix) {
		t.Fatalf("redirect to %q, want %s…", loc, prefix)
	}
	importID := strings.TrimPrefix(loc, prefix)

	// The import page shows the import; poll until it is done.
	deadline := time.Now().Add(60 * time.Second)
	var im labelhub.Import
	for {
		var err error
		if im, err = e.store.GetImport(context.Background(), e.org.ID, importID); err != nil {
			t.Fatal(err)
		}
		pg := c.get(loc)
		wantStatus(t, pg, http.StatusOK)
		wantContains(t, pg.body, importID)
		if im.State != labelhub.ImportRunning {
			wantContains(t, pg.body, `id="import-state">`+string(im.State)+`<`, "[8].externalId", "[7].type")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("import still running: %+v", im)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if im.State != labelhub.ImportSucceeded || im.Counts.Received != 9 || im.Counts.Imported != 7 || im.Counts.Invalid != 2 {
		t.Fatalf("import %+v", im)
	}
	if !im.Options.CreateBatches || len(im.Options.Batches) != 1 || im.Options.OnDuplicate != labelhub.DuplicateError {
		t.Fatalf("options %+v", im.Options)
	}
	batch, err := e.store.ResolveBatches(context.Background(), e.org.ID, p.ID, []string{"week-12"})
	if err != nil || batch["week-12"] == "" {
		t.Fatalf("batch week-12 was not created: %v %v", batch, err)
	}
	assets, err := e.store.ListAssets(context.Background(), e.org.ID, p.ID, labelhub.AssetFilter{BatchID: batch["week-12"]}, labelhub.PageRequest{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, a := range assets.Items {
		got[a.ExternalID] = true
	}
	for i := 1; i <= 7; i++ {
		if !got[fmt.Sprintf("street-%d", i)] {
			t.Fatalf("asset street-%d is not in batch week-12: %v", i, got)
		}
	}
	if len(assets.Items) != 7 {
		t.Fatalf("%d assets, want 7", len(assets.Items))
	}
	// The Assets tab lists them.
	list := c.get("/projects/" + p.ID + "/assets")
	wantStatus(t, list, http.StatusOK)
	wantContains(t, list.body, "street-7")
}
