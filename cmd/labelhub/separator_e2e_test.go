package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

// TestSeparatorExportEndToEnd runs `labelhub serve` and
// examples/separator-export as processes: a run with a batch filter and a
// Config JSON separator makes a zip of one file per asset of the batch,
// named from the externalId with "/" replaced, and a manifest; the hub set
// numTasks, the zip downloads with `labelhub run download` and the user
// is notified (`labelhub notifications`).
func TestSeparatorExportEndToEnd(t *testing.T) {
	e := newProcessEnv(t)
	ctx := context.Background()
	c := e.c
	name := "Street: scenes"
	proj, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	items := `[{"externalId":"street/cam1/001.jpg","data":"https://example.com/1.jpg"},
		{"externalId":"street/cam2/002.jpg","data":"https://example.com/2.jpg"},
		{"externalId":"top.jpg","data":"https://example.com/3.jpg"}]`
	if st, err := c.Import(ctx, proj.ID, strings.NewReader(items), client.ImportOptions{Batches: []string{"day 1"}, CreateBatches: true, Wait: true}); err != nil || st.State != "succeeded" {
		t.Fatalf("import %+v: %v", st, err)
	}
	other := `[{"externalId":"night/cam1/009.jpg","data":"https://example.com/9.jpg"}]`
	if st, err := c.Import(ctx, proj.ID, strings.NewReader(other), client.ImportOptions{Wait: true}); err != nil || st.State != "succeeded" {
		t.Fatalf("import %+v: %v", st, err)
	}
	p, err := c.CreatePlugin(ctx, client.NewPlugin{Name: "Separator export", Type: labelhub.PluginExport, DefaultConfig: `{"separator":"_"}`})
	if err != nil {
		t.Fatal(err)
	}
	pluginOut, _ := e.startPlugin("separator-export", p)
	cfg := `{"separator":"--"}`
	run, err := c.RunPlugin(ctx, p.ID, client.RunInput{ProjectID: proj.ID, ConfigJSON: &cfg,
		Params: map[string]any{"batches": []string{"day 1"}, "stage": "Start"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	var params struct {
		NumTasks int64 `json:"numTasks"`
	}
	if run.State != labelhub.RunSucceeded || json.Unmarshal(run.Params, &params) != nil || params.NumTasks != 3 {
		t.Fatalf("run %s %s params %s\nplugin:\n%s", run.State, run.Error, run.Params, pluginOut.String())
	}

	dir := t.TempDir()
	if out, err := e.cli(dir, "run", "download", run.ID); err != nil {
		t.Fatalf("run download: %v\n%s", err, out)
	}
	zr, err := zip.OpenReader(filepath.Join(dir, "Street- scenes-export.zip"))
	if err != nil {
		entries, _ := os.ReadDir(dir)
		t.Fatalf("open the zip: %v (folder holds %v)", err, entries)
	}
	defer zr.Close()
	var names []string
	files := map[string][]byte{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	want := []string{"street--cam1--001.jpg.json", "street--cam2--002.jpg.json", "top.jpg.json", "manifest.json"}
	if !slices.Equal(names, want) {
		t.Fatalf("zip entries %v, want %v", names, want)
	}
	var a labelhub.ExportedAsset
	if err := json.Unmarshal(files[want[0]], &a); err != nil || a.ExternalID != "street/cam1/001.jpg" || !slices.Equal(a.Batches, []string{"day 1"}) ||
		a.Task.Stage != "Start" {
		t.Fatalf("asset file %s: %v", files[want[0]], err)
	}
	var m struct {
		ProjectID string   `json:"projectId"`
		Project   string   `json:"project"`
		NumTasks  int64    `json:"numTasks"`
		Separator string   `json:"separator"`
		Files     []string `json:"files"`
	}
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil || m.ProjectID != proj.ID || m.Project != name || m.NumTasks != 3 ||
		m.Separator != "--" || !slices.Equal(m.Files, want[:3]) {
		t.Fatalf("manifest %s: %v", files["manifest.json"], err)
	}

	// The user is told, through the CLI (the notice is written just after
	// the run's end).
	deadline := time.Now().Add(30 * time.Second)
	for {
		pg, err := c.ListNotifications(ctx, true, labelhub.PageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pg.Items) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no notification within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err := e.cli(dir, "notifications", "--unread")
	if err != nil || !strings.Contains(out, `Your export "Separator export" of Street: scenes is ready (`) || !strings.Contains(out, run.ID) {
		t.Fatalf("notifications: %v\n%s", err, out)
	}
	if out, err := e.cli(dir, "notifications", "--unread", "--mark-read"); err != nil || !strings.Contains(out, "1 marked read") {
		t.Fatalf("notifications --mark-read: %v\n%s", err, out)
	}
	if out, err := e.cli(dir, "notifications", "--unread"); err != nil || strings.Contains(out, run.ID) {
		t.Fatalf("still unread: %v\n%s", err, out)
	}
}
