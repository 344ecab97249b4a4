package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
	"github.com/labelhub/labelhub/testservers"
)

// Plugins written for the commercial hub's Python SDK (imerit-ango) run
// against `labelhub serve` as processes, with only their host changed. The
// SDK itself is not installable here, so they import its test double in
// testdata/python (README.md there), which speaks the SDK's Socket.IO
// events and /v2 REST calls generation by generation
// (LABELHUB_TEST_ANGO_SDK).

// sdkGenerations are the SDK generations the test double mimics.
var sdkGenerations = []string{"1.1", "1.3", "1.4"}

// pythonInterpreter returns the Python that runs the plugins
// (LABELHUB_PYTHON, else /usr/bin/python3) once it imports the Debian
// packages the SDK needs and modules. Without them the test is skipped with
// the reason, or fails in CI.
func pythonInterpreter(t *testing.T, modules ...string) string {
	t.Helper()
	py, from := os.Getenv("LABELHUB_PYTHON"), "LABELHUB_PYTHON"
	if py == "" {
		py, from = "/usr/bin/python3", "/usr/bin/python3 (LABELHUB_PYTHON is not set)"
	}
	mods := append([]string{"socketio", "engineio", "requests", "websocket"}, modules...)
	out, err := exec.Command(py, "-c", "import "+strings.Join(mods, ", ")).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("\n*** Python plugin tests NOT RUN: %s cannot import %s: %v\n%s"+
			"*** install python3-socketio python3-engineio python3-requests python3-websocket python3-boto3 (bash .ci/run does), "+
			"or point LABELHUB_PYTHON at a Python that has them", from, strings.Join(mods, ", "), err, out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return py
}

// pyProc is one Python plugin process.
type pyProc struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error // its exit, once done is closed
}

// startPython runs script (a path from the module root) as the plugin p
// with SDK generation gen, dialling server, with env added, until the test
// ends.
func startPython(t *testing.T, py, server, script, gen string, p client.PluginCreated, env ...string) *pyProc {
	t.Helper()
	pp, err := launchPython(py, t.TempDir(), server, script, gen, p, env...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pp.stop)
	return pp
}

// launchPython starts the process of startPython in dir; the caller stops
// it.
func launchPython(py, dir, server, script, gen string, p client.PluginCreated, env ...string) (*pyProc, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(py, filepath.Join(root, script))
	cmd.Dir = dir
	for _, kv := range cleanEnv() {
		if !strings.HasPrefix(kv, "PYTHON") && !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "CONNECTOR=") &&
			!strings.HasPrefix(kv, "LOGLEVEL=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PYTHONPATH="+filepath.Join(root, "testdata", "python"), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1",
		"LABELHUB_TEST_ANGO_SDK="+gen, "LABELHUB_SERVER="+server, "LABELHUB_PLUGIN_ID="+p.ID, "LABELHUB_PLUGIN_SECRET="+p.Secret)
	cmd.Env = append(cmd.Env, env...)
	pp := &pyProc{name: filepath.Base(script) + " (SDK " + gen + ")", cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = pp.out, pp.out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		pp.err = cmd.Wait()
		close(pp.done)
	}()
	return pp, nil
}

func (p *pyProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process: SIGTERM, then SIGKILL after 5 s.
func (p *pyProc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends the process at once, as a crash would.
func (p *pyProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *pyProc) String() string {
	state := "running"
	if p.exited() {
		state = fmt.Sprintf("exited: %v", p.err)
	}
	return fmt.Sprintf("--- %s, %s:\n%s", p.name, state, p.out.String())
}

// waitOnline waits until the plugin has an instance, failing if one of
// procs ends first.
func waitOnline(t *testing.T, e *processEnv, pluginID string, procs ...*pyProc) client.PluginStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := e.c.GetPlugin(context.Background(), pluginID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Online && len(st.Instances) > 0 {
			return st
		}
		for _, p := range procs {
			if p.exited() {
				t.Fatalf("the plugin process ended before it came online\n%s\nhub:\n%s", p, e.serverOut.String())
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plugin did not come online in 30s\n%s\nhub:\n%s", procs, e.serverOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRun reads run id until done(run) or the timeout.
func waitRun(t *testing.T, e *processEnv, id string, timeout time.Duration, done func(labelhub.Run) bool, procs ...*pyProc) labelhub.Run {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r, err := e.c.GetRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if done(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s after %v: %+v\n%s\nhub:\n%s", id, timeout, r, procs, e.serverOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func finalRun(r labelhub.Run) bool { return r.State.Final() }

// runToEnd starts a run with wait=true and reads it until it has ended.
func runToEnd(t *testing.T, e *processEnv, pluginID string, in client.RunInput, procs ...*pyProc) labelhub.Run {
	t.Helper()
	r, err := e.c.RunPlugin(context.Background(), pluginID, in, true)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, procs)
	}
	if !r.State.Final() {
		r = waitRun(t, e, r.ID, 2*time.Minute, finalRun, procs...)
	}
	return r
}

// waitLog waits until the run's log has a record whose message contains
// part, and returns the log.
func waitLog(t *testing.T, e *processEnv, runID, part string, procs ...*pyProc) []labelhub.RunLog {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		logs, err := e.c.RunLogs(context.Background(), runID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range logs.Items {
			if strings.Contains(l.Message, part) {
				return logs.Items
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log of run %s has no %q in 30s: %+v\n%s", runID, part, logs.Items, procs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// adminKey is the hub's first admin's API key.
func adminKey(t *testing.T, e *processEnv) string {
	t.Helper()
	b, err := os.ReadFile(e.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// getURL fetches u, with the admin's key when key is not empty.
func getURL(t *testing.T, u, key string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// unzip returns the entries of a zip, by name, and their names in order.
func unzip(t *testing.T, b []byte) (map[string][]byte, []string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip (%d bytes): %v", len(b), err)
	}
	files := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, f.Name)
	}
	return files, names
}

// TestPythonExportPlugin runs examples/python/export_separator.py with each
// SDK generation: the hub sends the run (a batch filter, a stage and a
// Config JSON) over Socket.IO, the SDK fetches the export through /v2, the
// script zips one file per asset of the batch named with the separator,
// the SDK uploads the zip and answers its signed URL; the run's artifact
// and that URL serve the zip, and the run's log has the script's lines.
func TestPythonExportPlugin(t *testing.T) {
	py := pythonInterpreter(t)
	e := newProcessEnv(t)
	ctx := context.Background()
	key := adminKey(t, e)
	name := "Street: scenes"
	proj, err := e.c.CreateProject(ctx, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	items := `[{"externalId":"street/cam1/001.jpg","data":"https://example.com/1.jpg"},
		{"externalId":"street/cam2/002.jpg","data":"https://example.com/2.jpg"},
		{"externalId":"top.jpg","data":"https://example.com/3.jpg"}]`
	if st, err := e.c.Import(ctx, proj.ID, strings.NewReader(items), client.ImportOptions{Batches: []string{"day 1"}, CreateBatches: true, Wait: true}); err != nil || st.State != "succeeded" {
		t.Fatalf("import %+v: %v", st, err)
	}
	other := `[{"externalId":"night/cam1/009.jpg","data":"https://example.com/9.jpg"}]`
	if st, err := e.c.Import(ctx, proj.ID, strings.NewReader(other), client.ImportOptions{Wait: true}); err != nil || st.State != "succeeded" {
		t.Fatalf("import %+v: %v", st, err)
	}
	wantFiles := []string{"street--cam1--001.jpg.json", "street--cam2--002.jpg.json", "top.jpg.json"}

	for _, gen := range sdkGenerations {
		t.Run("sdk-"+gen, func(t *testing.T) {
			p, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "Separator (SDK " + gen + ")", Type: labelhub.PluginExport})
			if err != nil {
				t.Fatal(err)
			}
			proc := startPython(t, py, e.server, "examples/python/export_separator.py", gen, p)
			waitOnline(t, e, p.ID, proc)

			cfg := `{"separator-character":"--"}`
			run := runToEnd(t, e, p.ID, client.RunInput{ProjectID: proj.ID, ConfigJSON: &cfg,
				Params: map[string]any{"batches": []string{"day 1"}, "stage": "Start"}}, proc)
			if run.State != labelhub.RunSucceeded {
				t.Fatalf("run %s %q result %s\n%s\nhub:\n%s", run.State, run.Error, run.Result, proc, e.serverOut.String())
			}

			status, hdr, body := getURL(t, e.server+"/api/v1/runs/"+url.PathEscape(run.ID)+"/artifact", key)
			if status != http.StatusOK {
				t.Fatalf("GET artifact: %d %s", status, body)
			}
			if cd := hdr.Get("Content-Disposition"); !strings.Contains(cd, "export-separated.zip") {
				t.Errorf("Content-Disposition %q does not name the script's file export-separated.zip", cd)
			}
			files, names := unzip(t, body)
			slices.Sort(names)
			if want := append(slices.Clone(wantFiles), "summary.json"); !slices.Equal(names, slices.Sorted(slices.Values(want))) {
				t.Fatalf("zip entries %v, want %v", names, want)
			}
			for _, f := range wantFiles {
				var a labelhub.ExportedAsset
				if err := json.Unmarshal(files[f], &a); err != nil || strings.ReplaceAll(a.ExternalID, "/", "--")+".json" != f ||
					!slices.Equal(a.Batches, []string{"day 1"}) || a.Task.Stage != "Start" {
					t.Fatalf("%s: %s (%v)", f, files[f], err)
				}
			}
			var sum struct {
				Count     int      `json:"count"`
				NumTasks  *int     `json:"numTasks"`
				Separator string   `json:"separator"`
				Files     []string `json:"files"`
			}
			if err := json.Unmarshal(files["summary.json"], &sum); err != nil || sum.Count != 3 || sum.Separator != "--" {
				t.Fatalf("summary.json %s: %v", files["summary.json"], err)
			}
			// numTasks as the SDK counted it in the export it downloaded:
			// newline bytes (1.1, 1.3) or non-blank lines (1.4).
			if sum.NumTasks == nil || *sum.NumTasks != 3 {
				t.Errorf("the SDK did not count 3 tasks in the export (summary %s)", files["summary.json"])
			}

			// The SDK answered a signed link; the run keeps the file's name
			// and size, not the link (it opens the file to anyone).
			var res struct {
				FileName  string  `json:"fileName"`
				Size      int64   `json:"size"`
				SignedURL *string `json:"signedUrl"`
			}
			if err := json.Unmarshal(run.Result, &res); err != nil || res.FileName != "export-separated.zip" ||
				res.Size != int64(len(body)) || res.SignedURL != nil {
				t.Errorf("the run's result %s, want the file's name and size (%d bytes) and no signed link (%v)", run.Result, len(body), err)
			}

			logs, err := e.c.RunLogs(ctx, run.ID, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, l := range logs.Items {
				msgs = append(msgs, l.Level+": "+l.Message)
			}
			all := strings.Join(msgs, "\n")
			if !strings.Contains(all, "info: export of project "+proj.ID+" started, separator '--'") ||
				!strings.Contains(all, "info: export finished: 3 assets") {
				t.Errorf("the run's log lacks the script's lines:\n%s", all)
			}

			if proc.exited() || strings.Contains(proc.out.String(), "Traceback") {
				t.Errorf("the plugin process failed\n%s", proc)
			}
		})
	}
}

// TestPythonExportPluginConcurrentRuns: the hub gives one SDK process
// several runs at once (python-socketio runs each event in a thread of its
// own); every run gets its own export, upload and answer, matched by its
// session.
func TestPythonExportPluginConcurrentRuns(t *testing.T) {
	py := pythonInterpreter(t)
	e := newProcessEnv(t)
	ctx := context.Background()
	key := adminKey(t, e)
	const n = 6
	projects := make([]labelhub.Project, n)
	for i := range projects {
		projects[i] = exportProject(t, e, fmt.Sprintf("Concurrent %d", i))
		more := fmt.Sprintf(`[{"externalId":"only/in/%d.jpg","data":"https://example.com/%d.jpg"}]`, i, i)
		if st, err := e.c.Import(ctx, projects[i].ID, strings.NewReader(more), client.ImportOptions{Batches: []string{"b1"}, Wait: true}); err != nil || st.State != "succeeded" {
			t.Fatalf("import %+v: %v", st, err)
		}
	}
	p, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "Concurrent separator", Type: labelhub.PluginExport})
	if err != nil {
		t.Fatal(err)
	}
	proc := startPython(t, py, e.server, "examples/python/export_separator.py", "1.4", p)
	waitOnline(t, e, p.ID, proc)
	ids := make([]string, n)
	for i, proj := range projects {
		r, err := e.c.RunPlugin(ctx, p.ID, client.RunInput{ProjectID: proj.ID, Params: map[string]any{"batches": []string{"b1"}}}, false)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = r.ID
	}
	for i, id := range ids {
		r := waitRun(t, e, id, 2*time.Minute, finalRun, proc)
		if r.State != labelhub.RunSucceeded {
			t.Fatalf("run %d: %s %q\n%s\nhub:\n%s", i, r.State, r.Error, proc, e.serverOut.String())
		}
		st, _, body := getURL(t, e.server+"/api/v1/runs/"+id+"/artifact", key)
		if st != http.StatusOK {
			t.Fatalf("artifact of run %d: %d %s", i, st, body)
		}
		_, names := unzip(t, body)
		slices.Sort(names)
		if want := []string{fmt.Sprintf("only_in_%d.jpg.json", i), "cam_1.jpg.json", "summary.json"}; !slices.Equal(names, slices.Sorted(slices.Values(want))) {
			t.Errorf("run %d (project %s) has the zip %v, want %v", i, projects[i].ID, names, want)
		}
	}
}

// TestPythonFileExplorer runs examples/python/file_explorer_minio.py with
// each SDK generation against a MinIO bucket: listing runs page through a
// folder with scrollToken, and import runs send a folder's asset files to
// the project through POST /v2/project/{id}/cloud and the bucket's storage
// integration; the assets are there after, with their URLs, in the run's
// batch.
func TestPythonFileExplorer(t *testing.T) {
	py := pythonInterpreter(t, "boto3")
	endpoint, ak, sk, bucket := testservers.MinIOBucket(t, map[string]string{
		"set/a.jpg": "a", "set/b.png": "b", "set/readme.zip": "z", "set/cats/c.jpg": "c", "set/cats/d e+f.jpg": "d", "outside.jpg": "o",
	})
	e := newProcessEnv(t, "--allow-private-endpoints")
	ctx := context.Background()
	st, err := e.c.CreateStorage(ctx, labelhub.StorageInput{Name: "MinIO", Provider: labelhub.ProviderS3Compatible, Bucket: bucket, Endpoint: endpoint,
		PathStyle: true, Credentials: labelhub.StorageCredentials{AccessKeyID: ak, SecretAccessKey: sk}})
	if err != nil {
		t.Fatal(err)
	}
	bucketURL := "s3://" + bucket + "/set?endpoint=" + url.QueryEscape(endpoint) + "&region=us-east-1"

	for _, gen := range sdkGenerations {
		t.Run("sdk-"+gen, func(t *testing.T) {
			name := "From MinIO " + gen
			proj, err := e.c.CreateProject(ctx, labelhub.ProjectInput{Name: &name})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.c.CreateBatch(ctx, proj.ID, "imported"); err != nil {
				t.Fatal(err)
			}
			p, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "MinIO explorer " + gen, Type: labelhub.PluginFileExplorer, DefaultConfig: `{"pageSize": 2}`})
			if err != nil {
				t.Fatal(err)
			}
			proc := startPython(t, py, e.server, "examples/python/file_explorer_minio.py", gen, p,
				"AWS_ACCESS_KEY_ID="+ak, "AWS_SECRET_ACCESS_KEY="+sk, "LABELHUB_BUCKET_URL="+bucketURL)
			waitOnline(t, e, p.ID, proc)

			type listing struct {
				Folders     []string `json:"folders"`
				Files       []string `json:"files"`
				ScrollToken *string  `json:"scrollToken"`
				Success     bool     `json:"success"`
			}
			list := func(folder, token string) listing {
				t.Helper()
				params := map[string]any{"integrationId": st.ID, "folder": folder, "upload": false}
				if token != "" {
					params["scrollToken"] = token
				}
				r := runToEnd(t, e, p.ID, client.RunInput{ProjectID: proj.ID, Params: params}, proc)
				var l listing
				if r.State != labelhub.RunSucceeded || json.Unmarshal(r.Result, &l) != nil || !l.Success {
					t.Fatalf("listing %q: %s %q result %s\n%s\nhub:\n%s", folder, r.State, r.Error, r.Result, proc, e.serverOut.String())
				}
				return l
			}
			var folders, files []string
			token, pages := "", 0
			for {
				l := list("", token)
				pages++
				folders, files = append(folders, l.Folders...), append(files, l.Files...)
				if l.ScrollToken == nil {
					break
				}
				token = *l.ScrollToken
				if pages > 5 {
					t.Fatal("the listing does not end")
				}
			}
			if pages != 2 || strings.Join(folders, ",") != "cats/" || strings.Join(files, ",") != "a.jpg,b.png,readme.zip" {
				t.Fatalf("%d pages: folders %v, files %v", pages, folders, files)
			}
			if l := list("cats/", ""); strings.Join(l.Files, ",") != "cats/c.jpg,cats/d e+f.jpg" || len(l.Folders) != 0 || l.ScrollToken != nil {
				t.Fatalf("cats/: %+v", l)
			}

			// The SDK's File Explorer imports one folder level a run (the hub
			// sends it no "recursive"), so the import is two runs.
			for folder, want := range map[string]string{"": "2 of 3 files of / imported", "cats/": "2 of 2 files of cats/ imported"} {
				r := runToEnd(t, e, p.ID, client.RunInput{ProjectID: proj.ID, Params: map[string]any{"integrationId": st.ID, "folder": folder,
					"upload": true, "batches": []string{"imported"}}}, proc)
				var msg string
				if r.State != labelhub.RunSucceeded || json.Unmarshal(r.Result, &msg) != nil || !strings.HasPrefix(msg, want) {
					t.Fatalf("import of %q: %s %q result %s, want %q…\n%s\nhub:\n%s", folder, r.State, r.Error, r.Result, want, proc, e.serverOut.String())
				}
			}
			var assets []labelhub.Asset
			deadline := time.Now().Add(30 * time.Second)
			for {
				page, err := e.c.ListAssets(ctx, proj.ID, client.AssetFilter{}, labelhub.PageRequest{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				if assets = page.Items; len(assets) >= 4 || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			got := map[string]labelhub.Asset{}
			for _, a := range assets {
				got[a.ExternalID] = a
			}
			want := map[string]string{"set/a.jpg": "set/a.jpg", "set/b.png": "set/b.png", "set/cats/c.jpg": "set/cats/c.jpg", "set/cats/d e+f.jpg": "set/cats/d%20e%2Bf.jpg"}
			if len(got) != len(want) {
				t.Fatalf("the project has %d assets, want %d: %+v", len(got), len(want), assets)
			}
			for id, path := range want {
				a, ok := got[id]
				if !ok || a.Data != endpoint+"/"+bucket+"/"+path || a.StorageID != st.ID || !slices.Equal(a.Batches, []string{"imported"}) {
					t.Errorf("asset %s: %+v (want data %s/%s/%s, storage %s, batch imported)", id, a, endpoint, bucket, path, st.ID)
				}
			}
		})
	}
}

// TestPythonPluginWrongSecret: a plugin process with a wrong secret is
// refused; the SDK's next heartbeat fails and the process exits with status
// 1. Generations 1.3 and 1.4 log Socket.IO's events, so their output names
// the reason the hub gave; 1.1 configures no logging, and only the hub's
// log says why. A secret rotated under a running process ends it the same
// way.
func TestPythonPluginWrongSecret(t *testing.T) {
	py := pythonInterpreter(t)
	e := newProcessEnv(t)
	p, err := e.c.CreatePlugin(context.Background(), client.NewPlugin{Name: "Refused", Type: labelhub.PluginExport})
	if err != nil {
		t.Fatal(err)
	}
	bad := p
	bad.Secret = "lhp_" + strings.Repeat("x", 40)
	procs := map[string]*pyProc{}
	for _, gen := range sdkGenerations {
		procs[gen] = startPython(t, py, e.server, "examples/python/export_separator.py", gen, bad, "LABELHUB_TEST_ANGO_HEARTBEAT_SECONDS=2")
	}
	for _, gen := range sdkGenerations {
		proc := procs[gen]
		select {
		case <-proc.done:
		case <-time.After(45 * time.Second):
			t.Fatalf("SDK %s: the refused plugin still runs after 45s\n%s\nhub:\n%s", gen, proc, e.serverOut.String())
		}
		var ee *exec.ExitError
		if !errors.As(proc.err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("SDK %s: the refused plugin ended with %v, want exit status 1\n%s", gen, proc.err, proc)
		}
		if gen != "1.1" && !strings.Contains(proc.out.String(), "wrong plugin id or secret") {
			t.Errorf("SDK %s: the plugin's output does not say why it was refused\n%s", gen, proc)
		}
	}
	if !strings.Contains(e.serverOut.String(), "wrong plugin id or secret") {
		t.Errorf("the hub's log does not say why it refused the plugin:\n%s", e.serverOut.String())
	}
	if st, err := e.c.GetPlugin(context.Background(), p.ID); err != nil || st.Online {
		t.Errorf("the refused plugin is online: %+v %v", st, err)
	}

	// A rotated secret disconnects the running process; the SDK connects
	// again with the old secret, is refused, and exits at its next heartbeat.
	good := startPython(t, py, e.server, "examples/python/export_separator.py", "1.4", p, "LABELHUB_TEST_ANGO_HEARTBEAT_SECONDS=2")
	waitOnline(t, e, p.ID, good)
	if _, err := e.c.RotatePluginSecret(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-good.done:
	case <-time.After(45 * time.Second):
		t.Fatalf("the plugin still runs 45s after its secret was rotated\n%s\nhub:\n%s", good, e.serverOut.String())
	}
	if ee := (*exec.ExitError)(nil); !errors.As(good.err, &ee) || ee.ExitCode() != 1 || !strings.Contains(good.out.String(), "wrong plugin id or secret") {
		t.Errorf("after the rotation the plugin ended with %v, want status 1 and the reason\n%s", good.err, good)
	}
	if st, err := e.c.GetPlugin(context.Background(), p.ID); err != nil || st.Online {
		t.Errorf("the plugin is online with a rotated secret: %+v %v", st, err)
	}
}

// exportProject makes a project with one asset in batch "b1".
func exportProject(t *testing.T, e *processEnv, name string) labelhub.Project {
	t.Helper()
	ctx := context.Background()
	proj, err := e.c.CreateProject(ctx, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	items := `[{"externalId":"cam/1.jpg","data":"https://example.com/1.jpg"}]`
	if st, err := e.c.Import(ctx, proj.ID, strings.NewReader(items), client.ImportOptions{Batches: []string{"b1"}, CreateBatches: true, Wait: true}); err != nil || st.State != "succeeded" {
		t.Fatalf("import %+v: %v", st, err)
	}
	return proj
}

// TestPythonPluginKilledMidRun: the process holding a run dies in the
// middle of its callback; the hub takes the run back and gives it to the
// next instance of the plugin (attempt 2), or fails it with the reason.
func TestPythonPluginKilledMidRun(t *testing.T) {
	py := pythonInterpreter(t)
	e := newProcessEnv(t)
	ctx := context.Background()
	proj := exportProject(t, e, "Killed")
	p, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "Dies mid-run", Type: labelhub.PluginExport})
	if err != nil {
		t.Fatal(err)
	}
	hang := startPython(t, py, e.server, "testdata/python/fault_hang.py", "1.4", p)
	first := waitOnline(t, e, p.ID, hang).Instances[0].ID
	run, err := e.c.RunPlugin(ctx, p.ID, client.RunInput{ProjectID: proj.ID}, false)
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, e, run.ID, "callback started", hang)
	hang.kill()

	r := waitRun(t, e, run.ID, time.Minute, func(r labelhub.Run) bool { return r.State != labelhub.RunRunning || r.InstanceID != first }, hang)
	if r.State == labelhub.RunFailed {
		if r.Error == "" {
			t.Fatalf("the run failed without a reason: %+v", r)
		}
		t.Logf("the hub failed the run: %s", r.Error)
		return
	}
	if r.State.Final() {
		t.Fatalf("the run of the dead process ended %s: %+v", r.State, r)
	}
	good := startPython(t, py, e.server, "examples/python/export_separator.py", "1.4", p)
	r = waitRun(t, e, run.ID, time.Minute, finalRun, good)
	if r.State != labelhub.RunSucceeded || r.Attempts != 2 {
		t.Fatalf("the run given to the next instance: %s %q, %d attempts\n%s\nhub:\n%s", r.State, r.Error, r.Attempts, good, e.serverOut.String())
	}
	if st, _, b := getURL(t, e.server+"/api/v1/runs/"+run.ID+"/artifact", adminKey(t, e)); st != http.StatusOK {
		t.Fatalf("artifact of the second attempt: %d %s", st, b)
	}
}

// supervised keeps a plugin process running as a process supervisor
// would (systemd Restart=always, a container restart policy): when it
// exits it is started again after a second.
type supervised struct {
	mu    sync.Mutex
	cur   *pyProc
	exits []string
	err   error // why it could not start a process again
	stop  chan struct{}
	done  chan struct{}
}

func supervise(t *testing.T, start func() (*pyProc, error)) *supervised {
	t.Helper()
	first, err := start()
	if err != nil {
		t.Fatal(err)
	}
	s := &supervised{cur: first, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			s.mu.Lock()
			cur := s.cur
			s.mu.Unlock()
			select {
			case <-s.stop:
				cur.stop()
				return
			case <-cur.done:
			}
			s.mu.Lock()
			s.exits = append(s.exits, fmt.Sprint(cur.err))
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-time.After(time.Second):
			}
			next, err := start()
			s.mu.Lock()
			if err != nil {
				s.err = err
				s.mu.Unlock()
				return
			}
			s.cur = next
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		close(s.stop)
		<-s.done
	})
	return s
}

func (s *supervised) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("exits so far: %v (restart error: %v)\n%s", s.exits, s.err, s.cur)
}

// TestPythonPluginHubRestart: the hub restarts on the same address and
// database. The SDK does not survive that by itself (1.3 and 1.4 reconnect
// at once, while the hub is down, and exit when that fails; 1.1 exits at its
// next heartbeat), so its plugins run under a supervisor, as deployments
// run them; once the hub is back they come online again, a run queued
// meanwhile is given to them, and later runs succeed.
func TestPythonPluginHubRestart(t *testing.T) {
	py := pythonInterpreter(t)
	e := newProcessEnv(t)
	ctx := context.Background()
	proj := exportProject(t, e, "Restarted")
	addr := strings.TrimPrefix(e.server, "http://")
	type plug struct {
		p   client.PluginCreated
		sup *supervised
	}
	var plugs []plug
	for _, gen := range []string{"1.1", "1.4"} {
		p, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "Survives a restart " + gen, Type: labelhub.PluginExport})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		sup := supervise(t, func() (*pyProc, error) {
			return launchPython(py, dir, e.server, "examples/python/export_separator.py", gen, p, "LABELHUB_TEST_ANGO_HEARTBEAT_SECONDS=2")
		})
		plugs = append(plugs, plug{p, sup})
	}
	runAll := func(when string) {
		t.Helper()
		for _, pl := range plugs {
			waitOnlineSupervised(t, e, pl.p.ID, pl.sup)
			r := runToEnd(t, e, pl.p.ID, client.RunInput{ProjectID: proj.ID})
			if r.State != labelhub.RunSucceeded {
				t.Fatalf("%s: run of %s: %s %q\n%s\nhub:\n%s", when, pl.p.Name, r.State, r.Error, pl.sup, e.serverOut.String())
			}
		}
	}
	runAll("before the restart")

	if err := e.stopServer(); err != nil {
		t.Fatalf("the hub exited with %v\n%s", err, e.serverOut.String())
	}
	e.serverOut, e.stopServer = e.start("labelhub", nil, "serve", "--addr", addr, "--data", e.data)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(e.server + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted hub was not ready in 30s\n%s", e.serverOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A run made while the plugins are still away waits in the queue for them.
	queued, err := e.c.RunPlugin(ctx, plugs[0].p.ID, client.RunInput{ProjectID: proj.ID}, false)
	if err != nil {
		t.Fatal(err)
	}
	runAll("after the restart")
	if r := waitRun(t, e, queued.ID, 2*time.Minute, finalRun); r.State != labelhub.RunSucceeded {
		t.Fatalf("the run queued after the restart: %s %q\n%s\nhub:\n%s", r.State, r.Error, plugs[0].sup, e.serverOut.String())
	}
	for _, pl := range plugs {
		t.Logf("%s: %s", pl.p.Name, pl.sup)
	}
}

// waitOnlineSupervised is waitOnline for a supervised process, which may
// exit and start again meanwhile.
func waitOnlineSupervised(t *testing.T, e *processEnv, pluginID string, s *supervised) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := e.c.GetPlugin(context.Background(), pluginID)
		if err == nil && st.Online {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the supervised plugin did not come online in 60s (%v)\n%s\nhub:\n%s", err, s, e.serverOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPythonPluginMalformedResponse: a plugin that answers with a response
// event that is not the SDK's {"response", "session"} fails its run with a
// message that says so, and stays connected.
func TestPythonPluginMalformedResponse(t *testing.T) {
	py := pythonInterpreter(t)
	e := newProcessEnv(t)
	ctx := context.Background()
	name := "Malformed"
	proj, err := e.c.CreateProject(ctx, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	for _, fault := range []string{"list", "no-response"} {
		t.Run(fault, func(t *testing.T) {
			p, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "Malformed " + fault, Type: labelhub.PluginFileExplorer})
			if err != nil {
				t.Fatal(err)
			}
			proc := startPython(t, py, e.server, "testdata/python/fault_malformed.py", "1.4", p, "FAULT="+fault)
			waitOnline(t, e, p.ID, proc)
			r := runToEnd(t, e, p.ID, client.RunInput{ProjectID: proj.ID, Params: map[string]any{"folder": ""}}, proc)
			if r.State != labelhub.RunFailed || !strings.Contains(r.Error, "malformed response") {
				t.Fatalf("run %s %q result %s, want failed naming the malformed response\n%s\nhub:\n%s", r.State, r.Error, r.Result, proc, e.serverOut.String())
			}
			if fault == "no-response" && !strings.Contains(r.Error, `"response"`) {
				t.Errorf("the error %q does not name the missing field", r.Error)
			}
			if st, err := e.c.GetPlugin(ctx, p.ID); err != nil || !st.Online || proc.exited() {
				t.Errorf("the plugin went offline after its malformed answer: %+v %v\n%s", st, err, proc)
			}
		})
	}
}

// TestPythonPluginOversizedMessage: a plugin whose answer is larger than
// the hub takes in one message is refused (its run does not succeed and
// ends with a reason), and the hub goes on serving: /readyz and another
// plugin's runs.
func TestPythonPluginOversizedMessage(t *testing.T) {
	py := pythonInterpreter(t)
	e := newProcessEnv(t)
	ctx := context.Background()
	name := "Oversized"
	proj, err := e.c.CreateProject(ctx, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	big, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "Too big", Type: labelhub.PluginFileExplorer})
	if err != nil {
		t.Fatal(err)
	}
	noop, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "No-op", Type: labelhub.PluginFileExplorer})
	if err != nil {
		t.Fatal(err)
	}
	bigProc := startPython(t, py, e.server, "testdata/python/fault_oversized.py", "1.4", big)
	noopProc := startPython(t, py, e.server, "testdata/python/noop_plugin.py", "1.4", noop)
	waitOnline(t, e, big.ID, bigProc)
	waitOnline(t, e, noop.ID, noopProc)

	run, err := e.c.RunPlugin(ctx, big.ID, client.RunInput{ProjectID: proj.ID, Params: map[string]any{"folder": ""}}, false)
	if err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, e, run.ID, 2*time.Minute, finalRun, bigProc)
	if r.State == labelhub.RunSucceeded || r.Error == "" || len(r.Result) > 1<<20 {
		t.Fatalf("the oversized answer: run %s %q, %d bytes of result\n%s", r.State, r.Error, len(r.Result), bigProc)
	}
	t.Logf("the oversized run ended %s after %d attempts: %s", r.State, r.Attempts, r.Error)

	if resp, err := http.Get(e.server + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz after the oversized message: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	for i := range 3 {
		r := runToEnd(t, e, noop.ID, client.RunInput{ProjectID: proj.ID, Params: map[string]any{"folder": ""}}, noopProc)
		if r.State != labelhub.RunSucceeded {
			t.Fatalf("no-op run %d after the oversized message: %s %q\n%s\nhub:\n%s", i, r.State, r.Error, noopProc, e.serverOut.String())
		}
	}
}

// TestPythonPluginCallbackRaises: with SDK 1.4 a callback that raises is
// answered {"error": true} and its run fails; 1.1 and 1.3 send nothing, so
// the run stays running until someone cancels it, which the hub then does
// after its grace period even though the SDK has no cancel.
func TestPythonPluginCallbackRaises(t *testing.T) {
	py := pythonInterpreter(t)
	e := newProcessEnv(t)
	ctx := context.Background()
	proj := exportProject(t, e, "Raises")

	p, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "Raises 1.4", Type: labelhub.PluginExport})
	if err != nil {
		t.Fatal(err)
	}
	proc := startPython(t, py, e.server, "testdata/python/fault_raise.py", "1.4", p)
	waitOnline(t, e, p.ID, proc)
	r := runToEnd(t, e, p.ID, client.RunInput{ProjectID: proj.ID}, proc)
	if r.State != labelhub.RunFailed || r.Error == "" {
		t.Fatalf("SDK 1.4: run %s %q, want failed with a reason\n%s\nhub:\n%s", r.State, r.Error, proc, e.serverOut.String())
	}
	logs := waitLog(t, e, r.ID, "about to fail", proc)
	// The SDK logs the exception on the process's own stderr, not in the
	// session: an error that sends the user to the session's log must find
	// it there.
	if strings.Contains(r.Error, "log") && !slices.ContainsFunc(logs, func(l labelhub.RunLog) bool {
		return strings.Contains(l.Message, "failed on purpose")
	}) {
		t.Errorf("the run's error %q points at the session's log, which does not hold the exception: %+v", r.Error, logs)
	}
	if !strings.Contains(proc.out.String(), "the export script failed on purpose") {
		t.Errorf("the SDK did not log the exception on the plugin's output\n%s", proc)
	}

	old, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "Raises 1.3", Type: labelhub.PluginExport})
	if err != nil {
		t.Fatal(err)
	}
	oldProc := startPython(t, py, e.server, "testdata/python/fault_raise.py", "1.3", old)
	waitOnline(t, e, old.ID, oldProc)
	run, err := e.c.RunPlugin(ctx, old.ID, client.RunInput{ProjectID: proj.ID}, false)
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, e, run.ID, "about to fail", oldProc)
	time.Sleep(2 * time.Second)
	if r, err := e.c.GetRun(ctx, run.ID); err != nil || r.State != labelhub.RunRunning {
		t.Fatalf("SDK 1.3 sends nothing for a callback that raised, yet the run is %s %q (%v)", r.State, r.Error, err)
	}
	if _, err := e.c.CancelRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	r = waitRun(t, e, run.ID, time.Minute, finalRun, oldProc)
	if r.State != labelhub.RunCancelled {
		t.Fatalf("SDK 1.3: the cancelled run ended %s %q\n%s", r.State, r.Error, oldProc)
	}
}

// TestPythonPluginSampleAnswers: the answers of the commercial hub's File
// Explorer sample script end runs as that hub ends them: {"status":
// "success"} succeeds, {"status": "fail", "error": <the SDK's answer>}
// fails with the error.
func TestPythonPluginSampleAnswers(t *testing.T) {
	py := pythonInterpreter(t)
	e := newProcessEnv(t)
	ctx := context.Background()
	name := "Sample answers"
	proj, err := e.c.CreateProject(ctx, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, answer string
		want         labelhub.RunState
	}{
		{"success", `{"status": "success"}`, labelhub.RunSucceeded},
		{"fail", `{"status": "fail", "error": {"status": "error", "message": "the bucket is not reachable"}}`, labelhub.RunFailed},
		{"listing", `{"folders": [], "files": ["a.jpg"], "scrollToken": null, "success": true}`, labelhub.RunSucceeded},
		{"no-success", `{"folders": [], "files": [], "scrollToken": null, "success": false}`, labelhub.RunFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "Answers " + c.name, Type: labelhub.PluginFileExplorer})
			if err != nil {
				t.Fatal(err)
			}
			proc := startPython(t, py, e.server, "testdata/python/answer_plugin.py", "1.4", p, "ANSWER="+c.answer)
			waitOnline(t, e, p.ID, proc)
			r := runToEnd(t, e, p.ID, client.RunInput{ProjectID: proj.ID, Params: map[string]any{"folder": "", "upload": true}}, proc)
			if r.State != c.want || (c.want == labelhub.RunFailed && r.Error == "") {
				t.Fatalf("answer %s: run %s %q result %s, want %s", c.answer, r.State, r.Error, r.Result, c.want)
			}
			if c.name == "fail" && !strings.Contains(r.Error, "the bucket is not reachable") {
				t.Errorf("the run's error %q does not carry the script's error", r.Error)
			}
		})
	}
}

// TestPythonPluginRefusedUpload: an export whose upload the hub refuses (a
// .zip that is not a zip) fails its run, with each generation, with the
// hub's reason, and leaves no file to download.
func TestPythonPluginRefusedUpload(t *testing.T) {
	py := pythonInterpreter(t)
	e := newProcessEnv(t)
	ctx := context.Background()
	key := adminKey(t, e)
	proj := exportProject(t, e, "Refused upload")
	for _, gen := range sdkGenerations {
		t.Run("sdk-"+gen, func(t *testing.T) {
			p, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "Bad zip " + gen, Type: labelhub.PluginExport})
			if err != nil {
				t.Fatal(err)
			}
			proc := startPython(t, py, e.server, "testdata/python/fault_bad_zip.py", gen, p)
			waitOnline(t, e, p.ID, proc)
			r := runToEnd(t, e, p.ID, client.RunInput{ProjectID: proj.ID}, proc)
			if r.State != labelhub.RunFailed || !strings.Contains(r.Error, "not a valid zip") {
				t.Errorf("run %s %q, want failed with the hub's reason (not a valid zip)\n%s", r.State, r.Error, proc)
			}
			if st, _, b := getURL(t, e.server+"/api/v1/runs/"+r.ID+"/artifact", key); st != http.StatusNotFound {
				t.Errorf("GET the artifact of the refused upload: %d %s, want 404", st, b)
			}
		})
	}
}

// TestPythonPluginIdle: an SDK plugin quiet for longer than its 60 s
// heartbeat interval (and than Engine.IO's ping interval) keeps its one
// connection: the same instance, never reconnected, takes a run after.
func TestPythonPluginIdle(t *testing.T) {
	py := pythonInterpreter(t)
	if testing.Short() {
		t.Skip("idles for 75s")
	}
	t.Parallel()
	e := newProcessEnv(t)
	proj := exportProject(t, e, "Idle")
	p, err := e.c.CreatePlugin(context.Background(), client.NewPlugin{Name: "Idle", Type: labelhub.PluginExport})
	if err != nil {
		t.Fatal(err)
	}
	proc := startPython(t, py, e.server, "examples/python/export_separator.py", "1.4", p)
	before := waitOnline(t, e, p.ID, proc).Instances[0].ID
	time.Sleep(75 * time.Second)
	st, err := e.c.GetPlugin(context.Background(), p.ID)
	if err != nil || !st.Online || len(st.Instances) != 1 || st.Instances[0].ID != before {
		t.Fatalf("after 75s idle: %+v %v (instance before: %s)\n%s\nhub:\n%s", st, err, before, proc, e.serverOut.String())
	}
	if n := strings.Count(proc.out.String(), "Namespace /plugin is connected"); n != 1 || !strings.Contains(proc.out.String(), "Heartbeat at") {
		t.Fatalf("the plugin connected %d times while idle\n%s", n, proc)
	}
	if r := runToEnd(t, e, p.ID, client.RunInput{ProjectID: proj.ID}, proc); r.State != labelhub.RunSucceeded {
		t.Fatalf("run after 75s idle: %s %q\n%s", r.State, r.Error, proc)
	}
	if n := strings.Count(proc.out.String(), "Emitting event \"heartbeat\""); n < 2 {
		t.Errorf("the SDK sent %d heartbeats in 75s, want the one on connect and one a minute later\n%s", n, proc)
	}
}
