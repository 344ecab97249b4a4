package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

// TestExportCommand writes exports to files and stdout and checks that
// they parse, with the filters passed on.
func TestExportCommand(t *testing.T) {
	h := newTestHub(t)
	ctx := context.Background()
	p := decodeJSON[labelhub.Project](t, h.as(t, "project", "create", "Export", "-o", "json"))
	c := client.New(h.URL, h.Key)
	st, err := c.Import(ctx, p.ID, strings.NewReader(`[{"externalId":"a.jpg","data":"https://example.com/a.jpg","batches":["b1"]},
		{"externalId":"b.jpg","data":"https://example.com/b.jpg","metadata":{"width":3}}]`), client.ImportOptions{Wait: true, CreateBatches: true})
	if err != nil || st.State != "succeeded" {
		t.Fatalf("import %+v, %v", st, err)
	}
	dir := t.TempDir()

	file := filepath.Join(dir, "export.json")
	h.as(t, "export", "--project", p.ID, "-o", file)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var all []labelhub.ExportedAsset
	if err := json.Unmarshal(b, &all); err != nil || len(all) != 2 || all[1].ExternalID != "b.jpg" || string(all[1].Metadata) != `{"width":3}` ||
		all[0].Task.StageHistory == nil {
		t.Fatalf("%s: %v", b, err)
	}

	nd := filepath.Join(dir, "b1.ndjson")
	h.as(t, "export", "--project", p.ID, "--format", "ndjson", "--batch", "b1", "--stage", "start", "--history=false", "--metadata",
		"--updated-after", "2000-01-01T00:00:00Z", "--updated-before", "2999-01-01T00:00:00Z", "-o", nd)
	b, err = os.ReadFile(nd)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	var lines []labelhub.ExportedAsset
	for sc.Scan() {
		var e labelhub.ExportedAsset
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, e)
	}
	if len(lines) != 1 || lines[0].ExternalID != "a.jpg" || lines[0].Task.StageHistory != nil {
		t.Fatalf("--batch b1 --history=false: %s", b)
	}

	// To stdout.
	out := h.as(t, "export", "--project", p.ID, "--format", "ndjson")
	if strings.Count(out, "\n") != 2 {
		t.Fatalf("stdout: %q", out)
	}

	// Problems fail and leave no file.
	bad := filepath.Join(dir, "bad.json")
	if msg := h.fails(t, "export", "--project", p.ID, "--stage", "nope", "-o", bad); !strings.Contains(msg, "stage") {
		t.Fatalf("bad stage: %s", msg)
	}
	if msg := h.fails(t, "export", "--project", p.ID, "--format", "xml"); !strings.Contains(msg, "--format") {
		t.Fatalf("bad format: %s", msg)
	}
	if msg := h.fails(t, "export", "--project", p.ID, "--updated-after", "yesterday"); !strings.Contains(msg, "--updated-after") {
		t.Fatalf("bad time: %s", msg)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "export.json" && e.Name() != "b1.ndjson" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
