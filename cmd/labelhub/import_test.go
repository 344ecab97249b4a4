package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
	"github.com/labelhub/labelhub/importer"
	"github.com/labelhub/labelhub/storage/assetref"
)

func fastProgress(t *testing.T) {
	t.Helper()
	poll, line := importPollEvery, progressLineEvery
	importPollEvery, progressLineEvery = 5*time.Millisecond, 20*time.Millisecond
	t.Cleanup(func() { importPollEvery, progressLineEvery = poll, line })
}

const importFile = `{"externalId":"cam-1","data":"https://example.com/1.jpg","metadata":{"width":640,"height":480},"contextData":{"site":"north","seq":[3,1]}}
{"externalId":"cam-2","data":"https://example.com/2.mp4","metadata":{"frameRate":"fast"}}
{"externalId":"cam-3","data":"https://example.com/3.png","batches":["night"]}
{"data":"https://example.com/4.png"}
{"externalId":"cam-5","data":"https://example.com/5.jpg"}
`

func TestImportCommand(t *testing.T) {
	fastProgress(t)
	h := newTestHub(t)
	project := decodeJSON[labelhub.Project](t, h.as(t, "project", "create", "Imports", "-o", "json"))
	file := writeFile(t, "items.ndjson", importFile)
	errorsOut := filepath.Join(t.TempDir(), "errors.ndjson")

	stdout, stderr, err := h.run(t, "", "import", file, "--project", project.ID, "--batch", "day", "--create-batches", "--errors-out", errorsOut)
	if err == nil || err.Error() != "2 items were invalid" {
		t.Fatalf("err = %v, want 2 items were invalid\n%s\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"succeeded in", "received:  5", "imported:  3", "skipped:   0", "invalid:   2", "duration:", "assets/s", "Errors (2):",
		"item 1 (line 2) [1].metadata.frameRate: ", "item 3 (line 4) [3].externalId: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	b, err := os.ReadFile(errorsOut)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("--errors-out:\n%s", b)
	}
	var e labelhub.ImportError
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil || e.Index != 1 || e.Line != 2 || e.Path != "[1].metadata.frameRate" || e.Message == "" {
		t.Fatalf("first error %+v, %v", e, err)
	}
	if !strings.Contains(stdout, "item 1 (line 2) [1].metadata.frameRate: "+e.Message+"\n") {
		t.Fatalf("error line does not carry the message %q:\n%s", e.Message, stdout)
	}
	importID := regexp.MustCompile(`Import (\S+) succeeded`).FindStringSubmatch(stdout)[1]

	// The assets, with filters.
	out := h.as(t, "asset", "list", "--project", project.ID)
	for _, id := range []string{"cam-1", "cam-3", "cam-5"} {
		if tableRow(out, id, "day") == "" {
			t.Errorf("asset list lacks %s:\n%s", id, out)
		}
	}
	out = h.as(t, "asset", "list", "--project", project.ID, "--batch", "night", "-o", "json")
	if got := decodeJSON[[]labelhub.Asset](t, out); len(got) != 1 || got[0].ExternalID != "cam-3" {
		t.Fatalf("--batch night: %s", out)
	}
	out = h.as(t, "asset", "list", "--project", project.ID, "--type", "image", "--external-id", "cam-1", "-o", "json")
	assets := decodeJSON[[]labelhub.Asset](t, out)
	if len(assets) != 1 || assets[0].ExternalID != "cam-1" {
		t.Fatalf("--type --external-id: %s", out)
	}
	out = h.as(t, "asset", "show", assets[0].ID)
	for _, want := range []string{"External ID:  cam-1", "Type:         image", "Metadata:\n  {\n    \"width\": 640,", "Context data:\n  {\n    \"site\": \"north\",\n    \"seq\": [", "/api/v1/assets/" + assets[0].ID + "/content"} {
		if !strings.Contains(out, want) {
			t.Errorf("asset show lacks %q:\n%s", want, out)
		}
	}

	// Status, then a labels import, then a rollback.
	out = h.as(t, "import", "status", importID)
	if !strings.Contains(out, "imported:  3") || !strings.Contains(out, "item 3 (line 4) [3].externalId:") {
		t.Fatalf("status:\n%s", out)
	}
	lfile := writeFile(t, "labels.json", `[{"externalId":"cam-1"},{"externalId":"ghost"}]`)
	stdout, _, err = h.run(t, "", "labels", "import", lfile, "--project", project.ID)
	if err == nil || !strings.Contains(stdout, "Label import") || !strings.Contains(stdout, "item 1 [1].externalId: ") {
		t.Fatalf("labels import: %v\n%s", err, stdout)
	}
	out = h.as(t, "import", "rollback", importID)
	if !strings.Contains(out, "rolled_back") {
		t.Fatalf("rollback: %s", out)
	}
	if out := h.as(t, "asset", "list", "--project", project.ID, "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("after rollback: %s", out)
	}
	if msg := h.fails(t, "import", "resume", importID); msg == "" {
		t.Fatal("resume of a rolled back import")
	}

	// A dry run from stdin writes nothing.
	stdout, _, err = h.run(t, `[{"externalId":"x","data":"https://example.com/x.jpg"}]`, "import", "-", "--project", project.ID, "--dry-run", "--no-progress")
	if err != nil || !strings.Contains(stdout, "dry run") || !strings.Contains(stdout, "valid:     1") {
		t.Fatalf("dry run: %v\n%s", err, stdout)
	}
	if out := h.as(t, "asset", "list", "--project", project.ID, "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("after dry run: %s", out)
	}

	// A refused import: exit status non-zero, the parameter named.
	if msg := h.fails(t, "import", file, "--project", project.ID, "--batch", "unknown"); !strings.Contains(msg, "batches") {
		t.Fatalf("unknown batch: %s", msg)
	}
	if msg := h.fails(t, "import", file, "--project", project.ID, "--on-duplicate", "maybe"); !strings.Contains(msg, "--on-duplicate") {
		t.Fatalf("bad --on-duplicate: %s", msg)
	}
	if msg := h.fails(t, "import", filepath.Join(t.TempDir(), "missing.json"), "--project", project.ID); !strings.Contains(msg, "no such file") {
		t.Fatalf("missing file: %s", msg)
	}
}

// TestImportProgressWithoutTerminal: stderr is not a terminal, so the
// progress is a line every progressLineEvery, never a redrawn bar.
func TestImportProgressWithoutTerminal(t *testing.T) {
	fastProgress(t)
	h := newTestHub(t)
	project := decodeJSON[labelhub.Project](t, h.as(t, "project", "create", "Big", "-o", "json"))
	var buf bytes.Buffer
	const n = 6000
	if err := importer.Generate(&buf, n, importer.FormNDJSON, assetref.Integration{}); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "big.ndjson", buf.String())
	stdout, stderr, err := h.run(t, "", "import", file, "--project", project.ID, "--create-batches")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	if strings.Contains(stderr, "\r") || strings.Contains(stderr, "\033") {
		t.Fatalf("terminal control characters without a terminal: %q", stderr)
	}
	progress := regexp.MustCompile(`(?m)^\s*\d+% [\d.]+ [kMG]?i?B / [\d.]+ [kMG]?i?B.* · \d+ items, \d+ imported, \d+ invalid · \d+ assets/s$`)
	if len(progress.FindAllString(stderr, -1)) == 0 {
		t.Fatalf("no progress line on stderr:\n%s", stderr)
	}
	for _, want := range []string{"received:  6000", "imported:  6000", "invalid:   0"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "Errors") {
		t.Errorf("errors listed:\n%s", stdout)
	}
	// --no-progress: nothing on stderr.
	_, stderr, err = h.run(t, "", "import", file, "--project", project.ID, "--create-batches", "--no-progress", "-o", "json")
	if err != nil || stderr != "" {
		t.Fatalf("--no-progress: %v %q", err, stderr)
	}
	c := client.New(h.URL, h.Key)
	page, err := c.ListAssets(t.Context(), project.ID, client.AssetFilter{}, labelhub.PageRequest{Limit: 1})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("%+v %v", page, err)
	}
}
