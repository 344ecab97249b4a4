package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

// TestPythonExportThroughput is the benchmark of an export through a
// plugin of the model hub's Python SDK: it runs `labelhub serve` (without
// its in-process plugins), imports n generated images, gives every task
// the export benchmark's answer, restarts the hub so that its peak memory
// is the run's, and runs examples/python/export_separator.py (SDK 1.4 of
// testdata/python) as a separate python3 process: the SDK downloads the
// export as a zip over /v2/export, the script writes one JSON file per
// asset into a zip in memory and uploads it over /v2/upload. It prints the
// run's time, tasks/s, the zip's size and the peak memory (VmHWM) of the
// hub and of the Python process, next to the bare NDJSON export of the
// same tasks. It runs only when LABELHUB_BENCH_PYEXPORT gives the number
// of tasks:
//
//	LABELHUB_BENCH_PYEXPORT=100000 go test ./cmd/labelhub -run PythonExportThroughput -v -timeout 60m
func TestPythonExportThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LABELHUB_BENCH_PYEXPORT"))
	if n <= 0 {
		t.Skip("set LABELHUB_BENCH_PYEXPORT=100000 to run the Python export plugin benchmark")
	}
	py := pythonInterpreter(t)
	bin := buildBinary(t)
	hub := startBenchHub(t, bin, "LABELHUB_FIRST_PARTY_PLUGINS=false")
	key := hub.key
	project := answeredProject(t, hub, "python export bench", n)

	var p client.PluginCreated
	apiCall(t, "POST", hub.url+"/api/v1/plugins", key, strings.NewReader(`{"name": "Separator (Python)", "type": "export"}`), 201, &p)
	proc := startPython(t, py, hub.url, "examples/python/export_separator.py", "1.4", p, "LOGLEVEL=WARNING")
	waitPluginOnline(t, client.New(hub.url, key), p.ID)

	start := time.Now()
	var run labelhub.Run
	apiCall(t, "POST", hub.url+"/api/v1/plugins/"+p.ID+"/runs", key, strings.NewReader(`{"projectId": "`+project.ID+`"}`), 202, &run)
	for run.State == labelhub.RunQueued || run.State == labelhub.RunRunning {
		time.Sleep(100 * time.Millisecond)
		apiCall(t, "GET", hub.url+"/api/v1/runs/"+run.ID, key, nil, 200, &run)
	}
	el := time.Since(start)
	hubHWM, plugHWM := vmHWM(hub.cmd.Process.Pid), vmHWM(proc.cmd.Process.Pid)
	var res struct {
		Size int64 `json:"size"`
	}
	if err := json.Unmarshal(run.Result, &res); run.State != labelhub.RunSucceeded || err != nil || res.Size == 0 {
		t.Fatalf("run %+v: %s\nplugin:\n%s", run, run.Result, proc)
	}
	t.Logf("Python export plugin: %d tasks in %v: %.0f tasks/s; zip %.1f MB; peak memory (VmHWM): hub %s, Python process %s",
		n, el.Round(time.Millisecond), float64(n)/el.Seconds(), float64(res.Size)/1e6, hubHWM, plugHWM)

	req, _ := http.NewRequest("GET", hub.url+"/api/v1/projects/"+project.ID+"/export?format=ndjson", nil)
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
	t.Logf("the export alone (NDJSON with history, what the SDK downloads): %.1f MB in %v: %.0f tasks/s", float64(size)/1e6, el.Round(time.Millisecond), float64(n)/el.Seconds())
}
