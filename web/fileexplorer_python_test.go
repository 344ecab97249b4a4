package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
)

// TestFileExplorerDialogPythonPlugin: the File Explorer dialog with
// examples/python/file_explorer_minio.py, a File Explorer written for the
// model hub's Python SDK that lists the MinIO bucket with boto3 itself and
// imports with the SDK's upload_files_cloud: the dialog lists the root and
// a folder page by page, and importing the folder adds its images (not the
// file that is no asset) through the run.
func TestFileExplorerDialogPythonPlugin(t *testing.T) {
	py := pythonOrSkip(t, "boto3")
	h := newExplorerHub(t, map[string]string{
		"street/cam 1.jpg": "jpeg", "street/a+b.png": "png", "street/café.jpg": "jpeg", "street/notes.bin": "bin",
		"street/night/n1.jpg": "jpeg", "readme.md": "# data",
	}, 2)
	ctx := context.Background()
	p, secret, err := h.store.CreatePlugin(ctx, h.org.ID, h.admin.ID, labelhub.PluginInput{Name: ptr("MinIO explorer (Python)"),
		Type: ptr(labelhub.PluginFileExplorer), DefaultConfig: ptr(`{"pageSize": 2}`)})
	if err != nil {
		t.Fatal(err)
	}
	out := startPythonPlugin(t, py, h.srv.URL, "file_explorer_minio.py", h.store, p, secret,
		"AWS_ACCESS_KEY_ID="+h.accessKey, "AWS_SECRET_ACCESS_KEY="+h.secretKey,
		"LABELHUB_BUCKET_URL=s3://"+h.bucket+"?endpoint="+h.endpoint)
	h.plugin = p
	c := h.client()

	r := c.get(h.explorerURL("", ""))
	wantStatus(t, r, http.StatusOK)
	if got := explorerRows(r.body); strings.Join(got, ",") != "folder:street/,file:readme.md" {
		t.Fatalf("root rows %v\nplugin:\n%s", got, out.String())
	}
	all, _ := h.listAll(c, "street/", 2)
	want := "file:street/a+b.png,file:street/café.jpg,file:street/cam 1.jpg,file:street/notes.bin,folder:street/night/"
	if got := strings.Join(all, ","); got != want {
		t.Fatalf("street/ rows\n got %s\nwant %s", got, want)
	}

	r = c.post("/projects/"+h.project.ID+"/plugins/"+p.ID+"/import", url.Values{"csrf": {c.csrf()}, "integration": {h.integration.ID},
		"folder": {"street/"}, "mode": {"folder"}})
	wantStatus(t, r, http.StatusSeeOther)
	runID := strings.TrimPrefix(r.Header.Get("Location"), "/runs/")
	hctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	run, err := h.store.GetRun(hctx, h.org.ID, runID)
	for err == nil && !run.State.Final() && hctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
		run, err = h.store.GetRun(hctx, h.org.ID, runID)
	}
	if err != nil || run.State != labelhub.RunSucceeded {
		t.Fatalf("import run %+v, %v\nplugin:\n%s", run, err, out.String())
	}
	if keys := h.assetKeys(); len(keys) != 3 || !keys["street/cam 1.jpg"] || !keys["street/a+b.png"] || !keys["street/café.jpg"] {
		t.Fatalf("assets %v, want the three images of street/", keys)
	}
	r = c.get("/runs/" + run.ID)
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "3 of 4 files of street/ imported")
}
