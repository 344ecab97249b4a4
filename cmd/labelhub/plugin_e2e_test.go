package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

// TestPluginProcessEndToEnd builds the hub and examples/minimal-export,
// runs `labelhub serve` and the plugin as processes, and runs the plugin
// through the API.
func TestPluginProcessEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries and runs them")
	}
	if runtime.GOOS == "windows" {
		t.Skip("processes are stopped with SIGTERM")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build with")
	}
	tmp := t.TempDir()
	build := exec.Command(goTool, "build", "-o", tmp+string(os.PathSeparator), "./cmd/labelhub", "./examples/minimal-export")
	build.Dir = filepath.Join("..", "..") // the module root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// start runs a binary until the test ends; the returned function
	// stops it with SIGTERM and returns its exit error.
	start := func(name string, env []string, args ...string) (*lockedBuffer, func() error) {
		t.Helper()
		var out lockedBuffer
		cmd := exec.Command(filepath.Join(tmp, name), args...)
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

	data := filepath.Join(tmp, "data")
	addr := freeAddr(t)
	server := "http://" + addr
	serverOut, _ := start("labelhub", nil, "serve", "--addr", addr, "--data", data)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(server + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub was not ready in 30s\n%s", serverOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	key, err := os.ReadFile(filepath.Join(data, "initial-admin-key"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := client.New(server, strings.TrimSpace(string(key)))
	name := "E2E"
	proj, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.CreatePlugin(ctx, client.NewPlugin{Name: "Minimal export", Type: labelhub.PluginExport, DefaultConfig: `{"prefix":"coco"}`})
	if err != nil {
		t.Fatal(err)
	}

	pluginOut, stopPlugin := start("minimal-export", []string{"LABELHUB_SERVER=" + server, "LABELHUB_PLUGIN_ID=" + p.ID, "LABELHUB_PLUGIN_SECRET=" + p.Secret})
	deadline = time.Now().Add(15 * time.Second)
	for {
		st, err := c.GetPlugin(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Online {
			if len(st.Instances) != 1 || st.Instances[0].SDKVersion == "" {
				t.Fatalf("instances %+v", st.Instances)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plugin did not come online\nplugin:\n%s\nhub:\n%s", pluginOut.String(), serverOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	run, err := c.RunPlugin(ctx, p.ID, client.RunInput{ProjectID: proj.ID, Params: map[string]any{"stage": "review"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		FileName string         `json:"fileName"`
		Info     map[string]any `json:"info"`
	}
	if err := json.Unmarshal(run.Result, &res); err != nil || run.State != labelhub.RunSucceeded ||
		res.FileName != "coco-"+proj.ID+".json" || res.Info["steps"] != float64(3) {
		t.Fatalf("run %+v result %s: %v", run, run.Result, err)
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

	// SIGTERM stops the plugin cleanly and it goes offline.
	if err := stopPlugin(); err != nil {
		t.Fatalf("the plugin exited with %v after SIGTERM\n%s", err, pluginOut.String())
	}
	deadline = time.Now().Add(15 * time.Second)
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
