package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/testservers"
)

// processEnv builds the hub and the example plugins and runs them as
// processes for one test.
type processEnv struct {
	t         *testing.T
	bin, data string
	server    string
	keyFile   string
	serverOut *lockedBuffer
	// stopServer stops the hub with SIGTERM and returns its exit error.
	stopServer func() error
	c          *client.Client
}

// newProcessEnv builds ./cmd/labelhub and the examples into a temporary
// folder and starts `labelhub serve` on a free port with extra args.
func newProcessEnv(t *testing.T, serveArgs ...string) *processEnv {
	if testing.Short() {
		t.Skip("builds binaries and runs them")
	}
	if runtime.GOOS == "windows" {
		t.Skip("processes are stopped with SIGTERM")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build with")
	}
	e := &processEnv{t: t, bin: t.TempDir()}
	build := exec.Command(goTool, "build", "-o", e.bin+string(os.PathSeparator), "./cmd/labelhub", "./examples/minimal-export", "./examples/minimal-file-explorer",
		"./examples/s3-file-explorer", "./examples/separator-export")
	build.Dir = filepath.Join("..", "..") // the module root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	e.data = filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	e.server = "http://" + addr
	e.serverOut, e.stopServer = e.start("labelhub", nil, append([]string{"serve", "--addr", addr, "--data", e.data}, serveArgs...)...)
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
			t.Fatalf("the hub was not ready in 30s\n%s", e.serverOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.keyFile = filepath.Join(e.data, "initial-admin-key")
	key, err := os.ReadFile(e.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	e.c = client.New(e.server, strings.TrimSpace(string(key)))
	return e
}

// start runs a binary until the test ends; the returned function stops it
// with SIGTERM and returns its exit error.
func (e *processEnv) start(name string, env []string, args ...string) (*lockedBuffer, func() error) {
	t := e.t
	t.Helper()
	var out lockedBuffer
	cmd := exec.Command(filepath.Join(e.bin, name), args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var result error
	stopped := false
	stop := func() error {
		if stopped {
			return result
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case result = <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("%s did not stop within 10s of SIGTERM\n%s", name, out.String())
		}
		return result
	}
	t.Cleanup(func() { stop() })
	return &out, stop
}

// startPlugin starts an example plugin for p, with env added to its
// environment, and waits until it is online.
func (e *processEnv) startPlugin(name string, p client.PluginCreated, env ...string) (*lockedBuffer, func() error) {
	t := e.t
	t.Helper()
	out, stop := e.start(name, append([]string{"LABELHUB_SERVER=" + e.server, "LABELHUB_PLUGIN_ID=" + p.ID, "LABELHUB_PLUGIN_SECRET=" + p.Secret}, env...))
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := e.c.GetPlugin(context.Background(), p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Online {
			if len(st.Instances) != 1 || st.Instances[0].SDKVersion == "" {
				t.Fatalf("instances %+v", st.Instances)
			}
			return out, stop
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plugin did not come online\nplugin:\n%s\nhub:\n%s", out.String(), e.serverOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cli runs the built labelhub binary in dir as a client of the hub.
func (e *processEnv) cli(dir string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(e.bin, "labelhub"), append(args, "--server", e.server, "--api-key-file", e.keyFile)...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestPluginProcessEndToEnd builds the hub and examples/minimal-export,
// runs `labelhub serve` and the plugin as processes, runs the plugin
// through the API, and downloads the zip it uploaded with
// `labelhub run download`.
func TestPluginProcessEndToEnd(t *testing.T) {
	e := newProcessEnv(t)
	ctx := context.Background()
	c := e.c
	name := "E2E"
	proj, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.CreatePlugin(ctx, client.NewPlugin{Name: "Minimal export", Type: labelhub.PluginExport, DefaultConfig: `{"prefix":"coco"}`})
	if err != nil {
		t.Fatal(err)
	}
	pluginOut, stopPlugin := e.startPlugin("minimal-export", p)

	run, err := c.RunPlugin(ctx, p.ID, client.RunInput{ProjectID: proj.ID, Params: map[string]any{"stage": "review"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		FileName string         `json:"fileName"`
		Size     int64          `json:"size"`
		Info     map[string]any `json:"info"`
	}
	zipName := "coco-" + proj.ID + ".zip"
	if err := json.Unmarshal(run.Result, &res); err != nil || run.State != labelhub.RunSucceeded ||
		res.FileName != zipName || res.Size <= 0 || res.Info["steps"] != float64(3) {
		t.Fatalf("run %+v result %s: %v\nplugin:\n%s", run, run.Result, err, pluginOut.String())
	}
	if run.Progress != (labelhub.RunProgress{Done: 3, Total: 3, Message: "step 3 of 3"}) {
		t.Fatalf("progress %+v", run.Progress)
	}
	logs, err := c.RunLogs(ctx, run.ID, 0, 0)
	if err != nil || len(logs.Items) != 2 || !logs.Final {
		t.Fatalf("logs %+v %v", logs, err)
	}
	var attrs map[string]any
	_ = json.Unmarshal(logs.Items[0].Attrs, &attrs)
	if logs.Items[0].Message != "export started" || attrs["prefix"] != "coco" || attrs["project"] != proj.ID || attrs["stage"] != "review" ||
		logs.Items[1].Message != "export finished" {
		t.Fatalf("logs %+v", logs.Items)
	}

	// The zip the plugin uploaded, through the CLI: under the hub's name
	// in the current folder, and with -o.
	dir := t.TempDir()
	out, err := e.cli(dir, "run", "download", run.ID)
	if err != nil {
		t.Fatalf("run download: %v\n%s", err, out)
	}
	checkExportZip(t, filepath.Join(dir, zipName), res.Size, proj.ID, run.ID)
	other := filepath.Join(dir, "sub-copy.zip")
	if out, err := e.cli(dir, "run", "download", run.ID, "-o", other); err != nil || !strings.Contains(out, "Saved "+other) {
		t.Fatalf("run download -o: %v\n%s", err, out)
	}
	checkExportZip(t, other, res.Size, proj.ID, run.ID)
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Fatalf("the download left %d files in its folder, want 2", len(entries))
	}
	// A second download under the hub's name keeps the existing file.
	out, err = e.cli(dir, "run", "download", run.ID)
	if err == nil || !strings.Contains(out, "--force") {
		t.Fatalf("a second download replaced the file: %v\n%s", err, out)
	}

	// SIGTERM stops the plugin cleanly and it goes offline.
	if err := stopPlugin(); err != nil {
		t.Fatalf("the plugin exited with %v after SIGTERM\n%s", err, pluginOut.String())
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := c.GetPlugin(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the plugin is still online after it stopped")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkExportZip opens the zip minimal-export makes and checks its files.
func checkExportZip(t *testing.T, path string, size int64, projectID, runID string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer zr.Close()
	if st, _ := os.Stat(path); st == nil || st.Size() != size {
		t.Fatalf("%s: size differs from the result's %d", path, size)
	}
	var names []string
	var export struct {
		ProjectID string `json:"projectId"`
		Session   string `json:"session"`
		Stage     string `json:"stage"`
	}
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Name == "export.json" {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if err := json.Unmarshal(b, &export); err != nil {
				t.Fatalf("export.json: %v: %s", err, b)
			}
		}
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "README.txt,export.json" || export.ProjectID != projectID || export.Session != runID || export.Stage != "review" {
		t.Fatalf("zip files %v, export.json %+v", names, export)
	}
}

// TestFileExplorerProcessEndToEnd runs examples/minimal-file-explorer as a
// process against the hub and lists a local folder page by page with
// wait=true.
func TestFileExplorerProcessEndToEnd(t *testing.T) {
	e := newProcessEnv(t)
	ctx := context.Background()
	root := t.TempDir()
	for _, p := range []string{"cats/a.jpg", "cats/b.jpg", "dogs/d.jpg", "1.jpg", "2.jpg", "3.png"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	name := "Files"
	proj, err := e.c.CreateProject(ctx, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{"root": root, "pageSize": 2})
	p, err := e.c.CreatePlugin(ctx, client.NewPlugin{Name: "Local files", Type: labelhub.PluginFileExplorer, DefaultConfig: string(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	pluginOut, _ := e.startPlugin("minimal-file-explorer", p)

	type listing struct {
		Folders     []string `json:"folders"`
		Files       []string `json:"files"`
		ScrollToken *string  `json:"scrollToken"`
	}
	listPage := func(folder, token string) listing {
		t.Helper()
		params := map[string]any{"folder": folder, "upload": false}
		if token != "" {
			params["scrollToken"] = token
		}
		run, err := e.c.RunPlugin(ctx, p.ID, client.RunInput{ProjectID: proj.ID, Params: params}, true)
		if err != nil {
			t.Fatal(err)
		}
		var l listing
		if run.State != labelhub.RunSucceeded || json.Unmarshal(run.Result, &l) != nil || l.Folders == nil || l.Files == nil {
			t.Fatalf("run %+v result %s\nplugin:\n%s", run, run.Result, pluginOut.String())
		}
		return l
	}
	var folders, files []string
	token, pages := "", 0
	for {
		l := listPage("", token)
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
	if pages != 3 || strings.Join(folders, ",") != "cats/,dogs/" || strings.Join(files, ",") != "1.jpg,2.jpg,3.png" {
		t.Fatalf("%d pages: folders %v, files %v", pages, folders, files)
	}
	if l := listPage("cats/", ""); strings.Join(l.Files, ",") != "cats/a.jpg,cats/b.jpg" || len(l.Folders) != 0 || l.ScrollToken != nil {
		t.Fatalf("cats/: %+v", l)
	}
	// A folder outside the root fails the run with the reason.
	run, err := e.c.RunPlugin(ctx, p.ID, client.RunInput{ProjectID: proj.ID, Params: map[string]any{"folder": "../"}}, true)
	if err != nil || run.State != labelhub.RunFailed || !strings.Contains(run.Error, "relative path") {
		t.Fatalf("folder ../: %+v %v", run, err)
	}
}

// TestServeKeepsArtifactsOnMinIO runs `labelhub serve --artifacts
// s3://…` in-process against MinIO (credentials from the AWS variables):
// an export plugin's zip lands in the bucket under the prefix and
// downloads intact through the client.
func TestServeKeepsArtifactsOnMinIO(t *testing.T) {
	endpoint, ak, sk, bucket := testservers.MinIOBucket[string](t, nil)
	ctx := context.Background()
	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")})
	t.Setenv("AWS_ACCESS_KEY_ID", ak)
	t.Setenv("AWS_SECRET_ACCESS_KEY", sk)
	t.Setenv("AWS_SESSION_TOKEN", "")
	addr, data := freeAddr(t), t.TempDir()
	cmd := serveCommand()
	cmd.SetArgs([]string{"--addr", addr, "--data", data, "--log-level", "error", "--probe-workers", "0",
		"--artifacts", "s3://" + bucket + "/hub/results?endpoint=" + endpoint + "&region=us-east-1"})
	cmd.SetErr(io.Discard)
	sctx, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- cmd.ExecuteContext(sctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-errc; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	server := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(server + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-errc:
			t.Fatalf("serve ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the hub was not ready in 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	key, err := os.ReadFile(filepath.Join(data, "initial-admin-key"))
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(server, strings.TrimSpace(string(key)))
	name := "S3"
	proj, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.CreatePlugin(ctx, client.NewPlugin{Name: "zip", Type: labelhub.PluginExport})
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte("labelhub "), 700_000) // 6.3 MB: a multipart upload
	pctx, pstop := context.WithCancel(ctx)
	defer pstop()
	go plugin.Run(pctx, plugin.Config{Host: server, ID: p.ID, Secret: p.Secret, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		plugin.ExportFunc(func(ctx context.Context, r *plugin.ExportRequest) (plugin.ExportResult, error) {
			return plugin.ExportResult{FileName: "big.bin", Reader: io.MultiReader(bytes.NewReader(want))}, nil
		}))
	var run labelhub.Run
	deadline = time.Now().Add(60 * time.Second)
	for run, err = c.RunPlugin(ctx, p.ID, client.RunInput{ProjectID: proj.ID}, true); err == nil && !run.State.Final(); run, err = c.GetRun(ctx, run.ID) {
		if time.Now().After(deadline) {
			t.Fatalf("run still %s", run.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || run.State != labelhub.RunSucceeded {
		t.Fatalf("run %+v: %v", run, err)
	}
	var buf bytes.Buffer
	info, err := c.DownloadRunArtifact(ctx, run.ID, &buf)
	if err != nil || !bytes.Equal(buf.Bytes(), want) || info.Name != "big.bin" || info.Size != int64(len(want)) {
		t.Fatalf("download %+v (%d bytes): %v", info, buf.Len(), err)
	}
	objs, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.Contents) != 1 || !strings.HasPrefix(aws.ToString(objs.Contents[0].Key), "hub/results/"+run.ID+"/") ||
		aws.ToInt64(objs.Contents[0].Size) != int64(len(want)) {
		t.Fatalf("bucket holds %+v", objs.Contents)
	}
}
