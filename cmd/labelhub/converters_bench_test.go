package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
	"github.com/labelhub/labelhub/importer"
	"github.com/labelhub/labelhub/storage/assetref"
)

// TestCOCOConverterThroughput is the COCO converter's benchmark: it
// builds the binary, runs `labelhub serve` (without its in-process
// first-party plugins), imports n generated images (with their size),
// gives every task the export benchmark's answer (a box, a polygon and a
// point) in the database, restarts the hub so that its peak memory is the
// run's, and runs `labelhub plugin serve coco` as a separate process for
// a registered plugin. It prints the run's time, tasks/s, the zip's size
// and the peak memory (VmHWM) of the hub and of the plugin process. It
// runs only when LABELHUB_BENCH_COCO gives the number of tasks:
//
//	LABELHUB_BENCH_COCO=100000 go test ./cmd/labelhub -run COCOConverterThroughput -v -timeout 60m
func TestCOCOConverterThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LABELHUB_BENCH_COCO"))
	if n <= 0 {
		t.Skip("set LABELHUB_BENCH_COCO=100000 to run the COCO converter benchmark")
	}
	bin := buildBinary(t)
	hub := startBenchHub(t, bin, "LABELHUB_FIRST_PARTY_PLUGINS=false")
	key := hub.key
	project := answeredProject(t, hub, "coco bench", n)

	var p struct {
		labelhub.Plugin
		Secret string `json:"secret"`
	}
	apiCall(t, "POST", hub.url+"/api/v1/plugins", key, strings.NewReader(`{"name": "COCO", "type": "export"}`), 201, &p)
	plug := exec.Command(bin, "plugin", "serve", "coco", "--server", hub.url)
	plug.Env = append(cleanEnv(), "LABELHUB_PLUGIN_ID="+p.ID, "LABELHUB_PLUGIN_SECRET="+p.Secret)
	var plugOut lockedBuffer
	plug.Stdout, plug.Stderr = &plugOut, &plugOut
	if err := plug.Start(); err != nil {
		t.Fatal(err)
	}
	plugExited := make(chan error, 1)
	go func() { plugExited <- plug.Wait() }()
	t.Cleanup(func() { _ = plug.Process.Kill(); <-plugExited })
	waitPluginOnline(t, client.New(hub.url, key), p.ID)

	start := time.Now()
	var run labelhub.Run
	apiCall(t, "POST", hub.url+"/api/v1/plugins/"+p.ID+"/runs", key, strings.NewReader(`{"projectId": "`+project.ID+`"}`), 202, &run)
	for run.State == labelhub.RunQueued || run.State == labelhub.RunRunning {
		time.Sleep(100 * time.Millisecond)
		apiCall(t, "GET", hub.url+"/api/v1/runs/"+run.ID, key, nil, 200, &run)
	}
	el := time.Since(start)
	hubHWM, plugHWM := vmHWM(hub.cmd.Process.Pid), vmHWM(plug.Process.Pid)
	var res struct {
		Size int64          `json:"size"`
		Info map[string]any `json:"info"`
	}
	_ = json.Unmarshal(run.Result, &res)
	if run.State != labelhub.RunSucceeded || res.Info["images"] != float64(n) || res.Info["annotations"] != float64(2*n) {
		t.Fatalf("run %+v: %s\nplugin:\n%s", run, run.Result, plugOut.String())
	}
	t.Logf("COCO converter: %d tasks (%d annotations) in %v: %.0f tasks/s; zip %.1f MB; peak memory (VmHWM): hub %s, plugin process %s",
		n, 2*n, el.Round(time.Millisecond), float64(n)/el.Seconds(), float64(res.Size)/1e6, hubHWM, plugHWM)

	// For comparison: the same export (NDJSON, no history) read by a
	// client that throws it away.
	req, _ := http.NewRequest("GET", hub.url+"/api/v1/projects/"+project.ID+"/export?format=ndjson&includeHistory=false", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	start = time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	size, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("export: %d, %v", resp.StatusCode, err)
	}
	el = time.Since(start)
	t.Logf("the export alone: %.1f MB in %v: %.0f tasks/s", float64(size)/1e6, el.Round(time.Millisecond), float64(n)/el.Seconds())
}

// answeredProject creates a project with the tools of benchAnswer,
// imports n generated images into it and gives every task benchAnswer in
// the database, with the hub offline (restarted after, so that its peak
// memory is what follows).
func answeredProject(t *testing.T, hub *benchHub, name string, n int) labelhub.Project {
	t.Helper()
	var me struct {
		User labelhub.User `json:"user"`
	}
	apiCall(t, "GET", hub.url+"/api/v1/me", hub.key, nil, 200, &me)
	var project labelhub.Project
	apiCall(t, "POST", hub.url+"/api/v1/projects", hub.key, strings.NewReader(`{"name": `+strconv.Quote(name)+`, "categorySchema": {"tools": [
		{"schemaId": "car", "title": "Car", "tool": "bounding-box"},
		{"schemaId": "road", "title": "Road", "tool": "polygon"},
		{"schemaId": "kp", "title": "Point", "tool": "point"}]}}`), 201, &project)
	g, err := importer.NewGenerator(n, importer.FormNDJSON, assetref.Integration{})
	if err != nil {
		t.Fatal(err)
	}
	var im labelhub.Import
	apiCall(t, "POST", hub.url+"/api/v1/projects/"+project.ID+"/imports?wait=true&createBatches=true", hub.key, g, 200, &im)
	if im.State != labelhub.ImportSucceeded || im.Counts.Imported != int64(n) {
		t.Fatalf("import %s: %+v", im.State, im.Counts)
	}
	hub.offline(t, func(driver, dsn string) { fillAnswers(t, driver, dsn, project.ID, me.User.ID) })
	return project
}

// vmHWM is a process's peak resident memory as /proc/PID/status gives it
// ("123456 kB"), "?" when it cannot be read.
func vmHWM(pid int) string {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
