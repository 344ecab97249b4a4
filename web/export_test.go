package web_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/web"
)

// TestExportFormDownloads checks the Export card of the Overview and the
// export page, then sends their GET form as a browser would, with the
// session cookie, to the API route, which answers the file.
func TestExportFormDownloads(t *testing.T) {
	store, org, admin := orgStore(t)
	srv := serveHub(t, store, web.Config{}, httpapi.Config{})
	defer srv.Close()
	p := newTaskProject(t, store, org.ID, admin.ID, taskTestSchema)
	importAssets(t, store, org.ID, admin.ID, p.ID, []labelhub.NewAsset{
		{ID: labelhub.NewID(), ExternalID: "one.jpg", Type: "image", Data: "https://example.com/one.jpg", ProbeState: "none", Doc: "{}"},
		{ID: labelhub.NewID(), Index: 1, ExternalID: "two.jpg", Type: "image", Data: "https://example.com/two.jpg", ProbeState: "none", Doc: "{}"},
	})
	c := &client{t: t, h: srv.Config.Handler, remote: "192.0.2.10:40000", cookies: map[string]*http.Cookie{}}
	c.login(adminEmail, adminPassword)

	r := c.get("/projects/" + p.ID)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `id="export-form"`, `action="/api/v1/projects/`+p.ID+`/export"`, `value="ndjson"`, `href="/projects/`+p.ID+`/export"`)

	r = c.get("/projects/" + p.ID + "/export")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `id="export-stage"`, `<option value="review">Review</option>`, `name="includeHistory"`, `name="includeMetadata"`)

	// The form's submission with its defaults ("every stage" is empty).
	r = c.get("/api/v1/projects/" + p.ID + "/export?format=ndjson&stage=&includeHistory=true&includeMetadata=false")
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("X-Total-Count") != "2" || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("headers %v", r.Header)
	}
	sc := bufio.NewScanner(strings.NewReader(r.body))
	n := 0
	for sc.Scan() {
		var e labelhub.ExportedAsset
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("%d objects: %s", n, r.body)
	}
	r = c.get("/api/v1/projects/" + p.ID + "/export?stage=label")
	wantStatus(t, r, http.StatusOK)
	if strings.TrimSpace(r.body) != "[\n]" {
		t.Fatalf("stage label: %q", r.body)
	}

	// Another organisation's project is not found.
	wantStatus(t, c.get("/projects/"+labelhub.NewID()+"/export"), http.StatusNotFound)
}
