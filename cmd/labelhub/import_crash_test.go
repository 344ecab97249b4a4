package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/importer"
	"github.com/labelhub/labelhub/storage/assetref"
)

// hubProcess is `labelhub serve` running as a process.
type hubProcess struct {
	cmd    *exec.Cmd
	exited chan error
	stderr *lockedBuffer
	url    string
}

func startHubProcess(t *testing.T, bin, data, addr string, env ...string) *hubProcess {
	t.Helper()
	h := &hubProcess{exited: make(chan error, 1), stderr: &lockedBuffer{}, url: "http://" + addr}
	h.cmd = exec.Command(bin, "serve", "--addr", addr, "--data", data)
	h.cmd.Env = append(cleanEnv(), env...)
	h.cmd.Stdout, h.cmd.Stderr = h.stderr, h.stderr
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.exited <- h.cmd.Wait() }()
	t.Cleanup(func() { _ = h.cmd.Process.Kill(); <-h.exited })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(h.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub was not ready in 30s\n%s", h.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func buildBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build with")
	}
	bin := filepath.Join(t.TempDir(), "labelhub")
	build := exec.Command(goTool, "build", "-o", bin, "./cmd/labelhub")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func apiCall(t *testing.T, method, url, key string, body io.Reader, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, b)
		}
	}
}

// TestImportSurvivesKill9 kills the hub with SIGKILL in the middle of a
// large import, starts it again, and checks that the import is resumed to
// exactly the right assets, without duplicates (or, if it cannot be
// resumed, is failed and rolls back to nothing).
func TestImportSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and imports 100,000 assets")
	}
	if runtime.GOOS == "windows" {
		t.Skip("kill -9")
	}
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	env := []string{"LABELHUB_IMPORT_STALE_AFTER=2s", "LABELHUB_IMPORT_BATCH_SIZE=2000"}
	hub := startHubProcess(t, bin, data, addr, env...)
	kb, err := os.ReadFile(filepath.Join(data, "initial-admin-key"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(kb))
	var project labelhub.Project
	apiCall(t, "POST", hub.url+"/api/v1/projects", key, strings.NewReader(`{"name":"crash"}`), 201, &project)

	const n = 100_000
	g, err := importer.NewGenerator(n, importer.FormNDJSON, assetref.Integration{})
	if err != nil {
		t.Fatal(err)
	}
	var im labelhub.Import
	apiCall(t, "POST", hub.url+"/api/v1/projects/"+project.ID+"/imports?createBatches=true&batches=crash", key, g, 202, &im)
	if im.ID == "" || im.State != labelhub.ImportRunning {
		t.Fatalf("import answer %+v", im)
	}
	statusURL := hub.url + "/api/v1/imports/" + im.ID
	for deadline := time.Now().Add(60 * time.Second); ; {
		apiCall(t, "GET", statusURL, key, nil, 200, &im)
		if im.Counts.Imported > 0 {
			break
		}
		if im.State != labelhub.ImportRunning || time.Now().After(deadline) {
			t.Fatalf("no progress to kill in: %+v", im)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := hub.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-hub.exited
	hub.exited <- nil // for the cleanup
	t.Logf("killed with %d of %d imported", im.Counts.Imported, n)
	if im.Counts.Imported >= n {
		t.Fatalf("the import finished before the kill; make it larger")
	}

	hub = startHubProcess(t, bin, data, addr, env...)
	// The deadline moves while the resumed import makes progress, so a
	// slow, shared machine does not fail the test; a stuck import does.
	last := im.Counts.Imported
	for deadline := time.Now().Add(60 * time.Second); ; {
		apiCall(t, "GET", statusURL, key, nil, 200, &im)
		if im.State != labelhub.ImportRunning {
			break
		}
		if im.Counts.Imported > last {
			last, deadline = im.Counts.Imported, time.Now().Add(60*time.Second)
		}
		if time.Now().After(deadline) {
			t.Fatalf("still running after restart: %+v\n%s", im, hub.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	count := func() (int, map[string]bool) {
		seen := map[string]bool{}
		total := 0
		cursor := ""
		for {
			var page labelhub.Page[labelhub.Asset]
			apiCall(t, "GET", hub.url+"/api/v1/projects/"+project.ID+"/assets?limit=1000&cursor="+cursor, key, nil, 200, &page)
			for _, a := range page.Items {
				if seen[a.ExternalID] {
					t.Fatalf("duplicate externalId %s", a.ExternalID)
				}
				seen[a.ExternalID] = true
				total++
			}
			if page.NextCursor == "" {
				return total, seen
			}
			cursor = page.NextCursor
		}
	}
	switch im.State {
	case labelhub.ImportSucceeded:
		if im.Counts.Imported != n || im.Counts.Received != n {
			t.Fatalf("resumed import counts %+v", im.Counts)
		}
		total, seen := count()
		if total != n || !seen["img-0.jpg"] || !seen[fmt.Sprintf("img-%d.jpg", n-1)] {
			t.Fatalf("%d assets after the resumed import, want %d", total, n)
		}
		if !strings.Contains(hub.stderr.String(), "resuming import") {
			t.Errorf("the log does not say the import was resumed:\n%s", hub.stderr.String())
		}
	case labelhub.ImportFailed:
		t.Logf("not resumed: %s", im.Error)
		apiCall(t, "POST", statusURL+"/rollback?wait=true", key, nil, 200, &im)
		if total, _ := count(); im.State != labelhub.ImportRolledBack || total != 0 {
			t.Fatalf("after rollback: %s, %d assets", im.State, total)
		}
	default:
		t.Fatalf("import ended %s: %+v", im.State, im)
	}
	if _, err := os.Stat(filepath.Join(data, "imports", im.ID+".body")); !os.IsNotExist(err) {
		t.Errorf("the spool file is left behind: %v", err)
	}
}
