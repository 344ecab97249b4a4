package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/sqlstore"
)

// pluginTestHub is a hub in-process with plugins enabled.
type pluginTestHub struct {
	URL, Key string
}

func newPluginTestHub(t *testing.T) *pluginTestHub {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	_, _, key, err := store.CreateOrg(ctx, labelhub.NewOrg{Name: "Root org", AdminEmail: "root@example.com", AdminName: "Root"}, true)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ph := pluginhub.New(pluginhub.Config{Store: store, Logger: log, NewToken: sqlstore.NewRunToken,
		PollInterval: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond, CancelGrace: time.Second})
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Store: store, Logger: log, Plugins: ph, RunTokens: store}))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); ph.Close() })
	for _, v := range []string{"LABELHUB_SERVER", "LABELHUB_API_KEY", "LABELHUB_API_KEY_FILE"} {
		t.Setenv(v, "")
	}
	return &pluginTestHub{URL: srv.URL, Key: key}
}

// run runs a client command against the hub with the root key.
func (h *pluginTestHub) run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return cli(t, stdin, append(args, "--server", h.URL, "--api-key", h.Key)...)
}

func (h *pluginTestHub) ok(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	out, errOut, err := h.run(t, "", args...)
	if err != nil {
		t.Fatalf("labelhub %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out, errOut
}

// cliPlugin serves runs: it logs, reports progress and answers; params
// "mode" makes it fail ("fail") or wait for its cancellation ("block").
var cliPlugin = plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
	var cfg struct {
		Prefix string `json:"prefix"`
	}
	if err := r.DecodeConfig(&cfg); err != nil {
		return nil, err
	}
	var p map[string]any
	_ = json.Unmarshal(r.Params, &p)
	r.Log.Info("working", "prefix", cfg.Prefix)
	switch p["mode"] {
	case "fail":
		return nil, errors.New("asked to fail")
	case "block":
		r.Progress(0, 1, "blocked")
		<-ctx.Done()
		return nil, ctx.Err()
	}
	time.Sleep(30 * time.Millisecond) // long enough for a follower to see it running
	r.Progress(2, 2, "all done")
	return map[string]any{"out": cfg.Prefix + "-ok", "params": p}, nil
})

func startCLIPlugin(t *testing.T, url, id, secret string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = plugin.Run(ctx, plugin.Config{Host: url, ID: id, Secret: secret, Concurrency: 2,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}, cliPlugin)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("plugin.Run did not return")
		}
	})
}

func TestPluginCommands(t *testing.T) {
	h := newPluginTestHub(t)
	ctx := context.Background()
	c := client.New(h.URL, h.Key)
	proj, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: ptrTo("P")})
	if err != nil {
		t.Fatal(err)
	}

	// create: the id and the secret on stdout, the note on stderr.
	cfgFile := writeFile(t, "cfg.json", `{"prefix":"def"}`)
	out, errOut := h.ok(t, "plugin", "create", "--name", "Exporter", "--type", "export", "--description", "d", "--config", cfgFile)
	id := fieldOf(out, "ID")
	secret := fieldOf(out, "Secret")
	if id == "" || secret == "" || !strings.Contains(errOut, "only this once") || !strings.Contains(errOut, "LABELHUB_PLUGIN_ID="+id) || strings.Contains(errOut, secret) {
		t.Fatalf("create:\n%s\nstderr:\n%s", out, errOut)
	}
	// An invalid one: the details.
	if _, _, err := h.run(t, "", "plugin", "create", "--name", "X", "--type", "bogus"); err == nil || !strings.Contains(err.Error(), "type:") {
		t.Fatalf("invalid create: %v", err)
	}

	out, _ = h.ok(t, "plugin", "list")
	if row := tableRow(out, id, "Exporter", "export"); row == "" || !strings.Contains(row, " no ") {
		t.Fatalf("list offline:\n%s", out)
	}
	startCLIPlugin(t, h.URL, id, secret)
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ = h.ok(t, "plugin", "list", "-o", "json")
		rows := decodeJSON[[]pluginRow](t, out)
		if len(rows) == 1 && rows[0].Online && rows[0].Instances == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not online:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, _ = h.ok(t, "plugin", "list")
	if row := tableRow(out, id, "Exporter"); !strings.Contains(row, "yes") {
		t.Fatalf("list online:\n%s", out)
	}
	out, _ = h.ok(t, "plugin", "show", id)
	if !strings.Contains(out, "Online:") || !strings.Contains(out, "yes") || !strings.Contains(out, "Instances:") || !strings.Contains(out, plugin.Version) ||
		!strings.Contains(out, `{"prefix":"def"}`) {
		t.Fatalf("show:\n%s", out)
	}

	// run --wait, the config from stdin, params typed as JSON when they are.
	out, _, err = h.run(t, `{"prefix":"in"}`, "plugin", "run", id, "--project", proj.ID, "--config", "-", "--param", "n=3", "--param", "stage=review", "--wait", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	run := decodeJSON[labelhub.Run](t, out)
	var res bytes.Buffer
	_ = json.Compact(&res, run.Result)
	if run.State != labelhub.RunSucceeded || res.String() != `{"out":"in-ok","params":{"n":3,"numTasks":0,"stage":"review"}}` {
		t.Fatalf("run --wait: %+v %s", run, run.Result)
	}

	// run without --wait follows the log and the progress.
	out, errOut = h.ok(t, "plugin", "run", id, "--project", proj.ID)
	if !strings.Contains(errOut, "INFO working {\"prefix\":\"def\"}") || !strings.Contains(errOut, "progress 2/2 (100%): all done") ||
		!strings.Contains(out, "succeeded") || !strings.Contains(out, `{"out":"def-ok","params":{"numTasks":0}}`) {
		t.Fatalf("run:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	runID := fieldOf(out, "ID")

	// A failing run: exit status 1 (an error), with the run's error.
	out, errOut, err = h.run(t, "", "plugin", "run", id, "--project", proj.ID, "--param", "mode=fail")
	if err == nil || !strings.Contains(err.Error(), "failed: asked to fail") || !strings.Contains(errOut, "working") || !strings.Contains(out, "failed") {
		t.Fatalf("failing run: %v\n%s\n%s", err, out, errOut)
	}

	// run show, run logs (and -o json), run logs --follow of an ended run.
	out, _ = h.ok(t, "run", "show", runID)
	if fieldOf(out, "State") != "succeeded" || !strings.Contains(out, "2/2") {
		t.Fatalf("run show:\n%s", out)
	}
	out, _ = h.ok(t, "run", "logs", runID)
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "INFO working") {
		t.Fatalf("run logs:\n%s", out)
	}
	out, _ = h.ok(t, "run", "logs", runID, "-o", "json")
	if l := decodeJSON[labelhub.RunLog](t, out); l.Message != "working" {
		t.Fatalf("run logs -o json:\n%s", out)
	}
	out, _ = h.ok(t, "run", "logs", runID, "--follow")
	if !strings.Contains(out, "INFO working") || !strings.Contains(out, "progress 2/2") {
		t.Fatalf("run logs --follow:\n%s", out)
	}

	// run cancel of a blocked run; --follow then fails with its state.
	blocked, err := c.RunPlugin(ctx, id, client.RunInput{ProjectID: proj.ID, Params: map[string]any{"mode": "block"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	for r := blocked; r.State != labelhub.RunRunning; time.Sleep(10 * time.Millisecond) {
		if r, err = c.GetRun(ctx, blocked.ID); err != nil || time.Now().After(deadline.Add(5*time.Second)) {
			t.Fatalf("never running: %+v %v", r, err)
		}
	}
	out, _ = h.ok(t, "run", "cancel", blocked.ID)
	if !strings.Contains(out, blocked.ID) {
		t.Fatalf("cancel:\n%s", out)
	}
	_, _, err = h.run(t, "", "run", "logs", blocked.ID, "--follow")
	if err == nil || !(strings.Contains(err.Error(), "cancelled") || strings.Contains(err.Error(), "failed")) {
		t.Fatalf("follow cancelled: %v", err)
	}
	if _, _, err := h.run(t, "", "run", "show", labelhub.NewID()); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown run: %v", err)
	}

	// rotate-secret, then delete.
	out, errOut = h.ok(t, "plugin", "rotate-secret", id)
	if s := fieldOf(out, "Secret"); s == "" || s == secret || !strings.Contains(errOut, "disconnected") {
		t.Fatalf("rotate:\n%s\n%s", out, errOut)
	}
	_, errOut = h.ok(t, "plugin", "delete", id)
	if !strings.Contains(errOut, "Deleted plugin "+id) {
		t.Fatalf("delete: %s", errOut)
	}
	if out, _ = h.ok(t, "plugin", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("list after delete: %s", out)
	}
}

// fieldOf returns the value of a "Key:  value" line of printFields.
func fieldOf(out, key string) string {
	for line := range strings.SplitSeq(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func ptrTo[T any](v T) *T { return &v }
