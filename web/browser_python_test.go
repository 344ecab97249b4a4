package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/testservers"
)

// syncBuffer collects a process's output for the failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// pythonOrSkip is the python3 that runs the model hub's Python plugins
// (LABELHUB_PYTHON, else /usr/bin/python3) with the modules the SDK and
// the examples import; without them the test is skipped, or fails in CI.
func pythonOrSkip(t *testing.T, modules ...string) string {
	t.Helper()
	py := os.Getenv("LABELHUB_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	mods := append([]string{"socketio", "engineio", "requests", "websocket"}, modules...)
	if out, err := exec.Command(py, "-c", "import "+strings.Join(mods, ", ")).CombinedOutput(); err != nil {
		msg := "Python plugin test NOT RUN: " + py + " cannot import " + strings.Join(mods, ", ") +
			" (apt-get install python3-socketio python3-websocket python3-requests python3-boto3): " + string(out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return py
}

// startPythonPlugin runs examples/python/<script> as plugin p with SDK
// 1.4 of testdata/python, dialling hub, until the test ends, and waits
// until it is connected; the buffer collects what it prints.
func startPythonPlugin(t *testing.T, py, hub, script string, store *sqlstore.Store, p labelhub.Plugin, secret string, env ...string) *syncBuffer {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, filepath.Join(root, "examples", "python", script))
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "testdata", "python"), "PYTHONDONTWRITEBYTECODE=1",
		"LABELHUB_TEST_ANGO_SDK=1.4", "LABELHUB_SERVER="+hub, "LABELHUB_PLUGIN_ID="+p.ID, "LABELHUB_PLUGIN_SECRET="+secret)
	cmd.Env = append(cmd.Env, env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if in, err := store.ListInstances(context.Background(), p.ID); err == nil && len(in) > 0 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Python plugin %s did not connect:\n%s", script, out.String())
		}
	}
}

// TestBrowserPythonExportRun is the model hub's Python export plugin in
// labelhub's UI: examples/python/export_separator.py, written for the
// model hub's SDK (testdata/python stands in for it), runs as a separate
// python3 process with only its host pointed at the hub. In Chromium, a
// user runs it from the project's Plugins tab with a batch filter, sees
// the session succeed with the script's log lines in its console, sees the
// notification count go to 1, and downloads the zip from the
// Notifications page; the zip holds one JSON file per asset of the batch,
// named with the Config JSON's separator.
func TestBrowserPythonExportRun(t *testing.T) {
	py := pythonOrSkip(t)
	chromium := testservers.Chromium(t)
	store, org, admin := orgStore(t)
	ctx := context.Background()
	srv := serveExportHub(t, store)

	proj := newTaskProject(t, store, org.ID, admin.ID, `{"tools": [{"schemaId": "car", "title": "Car", "tool": "bounding-box"}]}`)
	night, err := store.CreateBatch(ctx, org.ID, proj.ID, "night")
	if err != nil {
		t.Fatal(err)
	}
	day, err := store.CreateBatch(ctx, org.ID, proj.ID, "day")
	if err != nil {
		t.Fatal(err)
	}
	importAssets(t, store, org.ID, admin.ID, proj.ID, []labelhub.NewAsset{
		{ExternalID: "night/a.jpg", Type: labelhub.AssetImage, Data: "https://example.com/night/a.jpg", BatchIDs: []string{night.ID},
			Answer: boxes(t, [4]float64{10, 20, 100, 50})},
		{ExternalID: "night/b.jpg", Type: labelhub.AssetImage, Data: "https://example.com/night/b.jpg", BatchIDs: []string{night.ID}},
		{ExternalID: "day/c.jpg", Type: labelhub.AssetImage, Data: "https://example.com/day/c.jpg", BatchIDs: []string{day.ID}},
	})
	p, secret, err := store.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: ptr("Separator (Python)"), Type: ptr(labelhub.PluginExport),
		DefaultConfig: ptr(`{"separator-character": "--"}`)})
	if err != nil {
		t.Fatal(err)
	}
	out := startPythonPlugin(t, py, srv.URL, "export_separator.py", store, p, secret)

	b := newBrowser(t, chromium, 120*time.Second, 1000)
	defer b.close()
	b.pollFor = 45 * time.Second
	b.signIn(srv.URL + "/projects")
	b.do("open the plugin's page", chromedp.Navigate(srv.URL+"/plugins/"+p.ID), chromedp.WaitVisible(chromedp.ID("instances-table")))
	if got := b.text("#instances-table tbody"); !strings.Contains(got, "imerit-ango (Socket.IO, websocket)") {
		t.Fatalf("the plugin page lists the instance as %q", got)
	}
	b.do("open the project's Plugins tab", chromedp.Navigate(srv.URL+"/projects/"+proj.ID+"/plugins"),
		chromedp.WaitVisible(chromedp.ID("project-plugin-rows")))
	b.navigate("open the plugin", chromedp.Click(chromedp.CSS(`[data-open-plugin="`+p.ID+`"]`)), "export-filters")
	b.eval("pick the night batch", `(function () { var s = document.getElementById("filter-batches");
		Array.prototype.forEach.call(s.options, function (o) { o.selected = o.value === `+jsString(night.ID)+`; }); return ""; })()`)
	b.navigate("run", chromedp.Click(chromedp.ID("run-submit")), "run-live")
	b.runSucceeds("the Python plugin's session")
	b.poll("the script's log lines in the console", `document.getElementById("run-console").textContent.indexOf("export finished: 2 assets") >= 0`)
	if got := b.text("#run-console"); !strings.Contains(got, "separator '--'") {
		t.Errorf("console %q lacks the script's first line", got)
	}
	if shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile("/tmp/labelhub-ui-python-session.png", shot, 0o644)
	}
	b.poll("the unread count goes to 1", `!document.getElementById("notif-count").hidden && document.getElementById("notif-count").textContent.trim() === "1"`)
	b.navigate("open Notifications", chromedp.Click(chromedp.ID("nav-notifications")), "notification-rows")
	row := `#notification-rows tr[data-kind="export.ready"]`
	if got := b.text(row); !strings.Contains(got, `"Separator (Python)"`) {
		t.Fatalf("notification %q", got)
	}
	href := b.eval("download link", `document.querySelector(`+jsString(row+` a[data-download]`)+`).getAttribute("href")`)
	b.do("click Download", chromedp.Click(chromedp.CSS(row+` a[data-download]`)))
	zr := b.fetchZip(href)
	var names []string
	var summary struct {
		Count    int `json:"count"`
		NumTasks int `json:"numTasks"`
	}
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Name == "summary.json" {
			rc, _ := f.Open()
			err := json.NewDecoder(rc).Decode(&summary)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "night--a.jpg.json,night--b.jpg.json,summary.json" || summary.Count != 2 || summary.NumTasks != 2 {
		t.Fatalf("zip %v, summary %+v; want the night batch's two assets\nplugin output:\n%s", names, summary, out.String())
	}
}
