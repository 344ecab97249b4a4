package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
	"github.com/labelhub/labelhub/httpapi"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/sqlstore"
)

// newPluginHub is a hub in-process with plugins enabled: SQLite, the
// plugin hub and the API.
func newPluginHub(t *testing.T) hub {
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
	return hub{URL: srv.URL, RootKey: key}
}

// testHandler logs, reports progress and answers; params "mode" makes it
// fail ("fail") or wait for its cancellation ("block").
var testHandler = plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
	var cfg struct {
		Prefix string `json:"prefix"`
	}
	if err := r.DecodeConfig(&cfg); err != nil {
		return nil, err
	}
	var p struct {
		Mode string `json:"mode"`
	}
	_ = json.Unmarshal(r.Params, &p)
	r.Log.Info("started", "prefix", cfg.Prefix)
	switch p.Mode {
	case "fail":
		return nil, errors.New("asked to fail")
	case "block":
		r.Progress(0, 1, "waiting")
		<-ctx.Done()
		return nil, ctx.Err()
	}
	r.Progress(1, 1, "done")
	r.Log.Warn("finished")
	return map[string]string{"out": cfg.Prefix + "-ok"}, nil
})

// startPlugin runs an SDK plugin in-process until the test ends; the
// returned channel is closed when plugin.Run returns, *runErr then holds
// its error.
func startPlugin(t *testing.T, url, id, secret string) (done <-chan struct{}, runErr *error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan struct{})
	runErr = new(error)
	go func() {
		defer close(ch)
		*runErr = plugin.Run(ctx, plugin.Config{Host: url, ID: id, Secret: secret, Concurrency: 2,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}, testHandler)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Error("plugin.Run did not return")
		}
	})
	return ch, runErr
}

func waitOnline(t *testing.T, c *client.Client, id string) client.PluginStatus {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		p, err := c.GetPlugin(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Online {
			return p
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("plugin %s did not come online", id)
	return client.PluginStatus{}
}

func TestPluginsAndRuns(t *testing.T) {
	h := newPluginHub(t)
	ctx := context.Background()
	c := client.New(h.URL, h.RootKey)
	proj, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: ptr("Plugins")})
	if err != nil {
		t.Fatal(err)
	}

	// An invalid plugin: the field details come back.
	_, err = c.CreatePlugin(ctx, client.NewPlugin{Name: "x", Type: "nope"})
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "type") {
		t.Fatalf("details %+v", e.Details)
	}

	created, err := c.CreatePlugin(ctx, client.NewPlugin{Name: "Exporter", Type: labelhub.PluginExport, Description: "d", DefaultConfig: `{"prefix":"def"}`})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.Secret == "" || created.Name != "Exporter" || created.Type != labelhub.PluginExport || created.DefaultConfig != `{"prefix":"def"}` {
		t.Fatalf("created %+v", created)
	}
	page, err := c.ListPlugins(ctx, labelhub.PageRequest{})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != created.ID {
		t.Fatalf("list %+v %v", page, err)
	}
	st, err := c.GetPlugin(ctx, created.ID)
	if err != nil || st.Online || len(st.Instances) != 0 || st.Name != "Exporter" {
		t.Fatalf("get %+v %v", st, err)
	}

	startPlugin(t, h.URL, created.ID, created.Secret)
	st = waitOnline(t, c, created.ID)
	if len(st.Instances) != 1 || st.Instances[0].Concurrency != 2 || st.Instances[0].SDKVersion != plugin.Version {
		t.Fatalf("instances %+v", st.Instances)
	}

	// A run with wait: the default config, result, progress and logs.
	run, err := c.RunPlugin(ctx, created.ID, client.RunInput{ProjectID: proj.ID}, true)
	if err != nil {
		t.Fatal(err)
	}
	if run.State != labelhub.RunSucceeded || string(run.Result) != `{"out":"def-ok"}` || run.Progress != (labelhub.RunProgress{Done: 1, Total: 1, Message: "done"}) {
		t.Fatalf("run %+v result %s", run, run.Result)
	}
	got, err := c.GetRun(ctx, run.ID)
	if err != nil || got.ID != run.ID || got.State != labelhub.RunSucceeded {
		t.Fatalf("get run %+v %v", got, err)
	}
	logs, err := c.RunLogs(ctx, run.ID, 0, 0)
	if err != nil || len(logs.Items) != 2 || !logs.Final || logs.Items[0].Message != "started" || string(logs.Items[0].Attrs) != `{"prefix":"def"}` ||
		logs.Items[1].Level != "warn" || logs.Next != logs.Items[1].Seq {
		t.Fatalf("logs %+v %v", logs, err)
	}
	rest, err := c.RunLogs(ctx, run.ID, logs.Items[0].Seq, 1)
	if err != nil || len(rest.Items) != 1 || rest.Items[0].Message != "finished" {
		t.Fatalf("logs after %+v %v", rest, err)
	}
	// Following an ended run replays its log, then ends.
	var followed []string
	end, err := c.FollowRunLogs(ctx, run.ID, 0, func(l labelhub.RunLog) error { followed = append(followed, l.Message); return nil })
	if err != nil || end.State != labelhub.RunSucceeded || len(followed) != 2 {
		t.Fatalf("follow %+v %v %v", end, followed, err)
	}

	// A run's own config, and a failing run followed live.
	cfg := `{"prefix":"mine"}`
	run, err = c.RunPlugin(ctx, created.ID, client.RunInput{ProjectID: proj.ID, ConfigJSON: &cfg, Params: map[string]any{"mode": "fail"}}, false)
	// The run may already have ended by the time the answer is written.
	if err != nil || (run.State != labelhub.RunQueued && run.State != labelhub.RunRunning && run.State != labelhub.RunFailed) {
		t.Fatalf("start %+v %v", run, err)
	}
	followed = nil
	end, err = c.FollowRunLogs(ctx, run.ID, 0, func(l labelhub.RunLog) error { followed = append(followed, l.Message); return nil })
	if err != nil || end.State != labelhub.RunFailed || end.Error != "asked to fail" || end.ConfigJSON != cfg || len(followed) != 1 {
		t.Fatalf("follow failed run %+v %v %v", end, followed, err)
	}
	// A callback's error stops the stream.
	stop := errors.New("stop")
	if _, err := c.FollowRunLogs(ctx, run.ID, 0, func(labelhub.RunLog) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("callback error = %v", err)
	}

	// Cancel a running run.
	run, err = c.RunPlugin(ctx, created.ID, client.RunInput{ProjectID: proj.ID, Params: map[string]any{"mode": "block"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for run.State != labelhub.RunRunning && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		if run, err = c.GetRun(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CancelRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	end, err = c.FollowRunLogs(ctx, run.ID, 0, func(labelhub.RunLog) error { return nil })
	if err != nil || (end.State != labelhub.RunCancelled && end.State != labelhub.RunFailed) {
		t.Fatalf("cancelled run %+v %v", end, err)
	}
	runs, err := c.ListRuns(ctx, proj.ID, labelhub.PageRequest{})
	if err != nil || len(runs.Items) != 3 {
		t.Fatalf("runs %+v %v", runs, err)
	}

	// Unknown ids are not_found.
	_, err = c.GetRun(ctx, labelhub.NewID())
	wantCode(t, err, labelhub.ECodeNotFound)
	_, err = c.FollowRunLogs(ctx, labelhub.NewID(), 0, func(labelhub.RunLog) error { return nil })
	wantCode(t, err, labelhub.ECodeNotFound)
}

func TestRotateAndDeletePlugin(t *testing.T) {
	h := newPluginHub(t)
	ctx := context.Background()
	c := client.New(h.URL, h.RootKey)
	created, err := c.CreatePlugin(ctx, client.NewPlugin{Name: "FE", Type: labelhub.PluginFileExplorer})
	if err != nil {
		t.Fatal(err)
	}
	done, runErr := startPlugin(t, h.URL, created.ID, created.Secret)
	waitOnline(t, c, created.ID)
	rot, err := c.RotatePluginSecret(ctx, created.ID)
	if err != nil || rot.ID != created.ID || rot.Secret == "" || rot.Secret == created.Secret {
		t.Fatalf("rotate %+v %v", rot, err)
	}
	// The old secret's process is told to stop.
	select {
	case <-done:
		var ae *plugin.AuthError
		if !errors.As(*runErr, &ae) {
			t.Fatalf("plugin.Run = %v, want an AuthError", *runErr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the plugin was not disconnected by the rotation")
	}
	startPlugin(t, h.URL, created.ID, rot.Secret)
	waitOnline(t, c, created.ID)
	if err := c.DeletePlugin(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetPlugin(ctx, created.ID)
	wantCode(t, err, labelhub.ECodeNotFound)
	wantCode(t, c.DeletePlugin(ctx, created.ID), labelhub.ECodeNotFound)
}
