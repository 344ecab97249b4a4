package pluginhub_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/plugin"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/pluginproto"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/testservers"
)

type env struct {
	t       *testing.T
	store   *sqlstore.Store
	hub     *pluginhub.Hub
	srv     *httptest.Server
	actor   labelhub.Actor
	project labelhub.Project
	plugin  labelhub.Plugin
	secret  string
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openStore(t *testing.T, dsn string) *sqlstore.Store {
	s, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func startHub(t *testing.T, s *sqlstore.Store, cfg pluginhub.Config) (*pluginhub.Hub, *httptest.Server) {
	cfg.Store, cfg.Logger, cfg.NewToken = s, quiet(), sqlstore.NewRunToken
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 200 * time.Millisecond
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	h := pluginhub.New(cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); h.Close() })
	return h, srv
}

func newEnv(t *testing.T, s *sqlstore.Store, cfg pluginhub.Config, typ labelhub.PluginType) *env {
	ctx := context.Background()
	if s == nil {
		s = openStore(t, filepath.Join(t.TempDir(), "hub.db"))
	}
	_, _, key, err := s.CreateOrg(ctx, labelhub.NewOrg{Name: "O", AdminEmail: "a@example.com"}, false)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Authenticate(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	name := "P"
	proj, err := s.CreateProject(ctx, a.Org.ID, a.User.ID, labelhub.ProjectInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	p, secret, err := s.CreatePlugin(ctx, a.Org.ID, a.User.ID, labelhub.PluginInput{Name: &name, Type: &typ, DefaultConfig: ptr(`{"depth":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	h, srv := startHub(t, s, cfg)
	return &env{t: t, store: s, hub: h, srv: srv, actor: a, project: proj, plugin: p, secret: secret}
}

func ptr[T any](v T) *T { return &v }

// runPlugin starts an SDK plugin against the env's hub; the returned
// function stops it (like killing the process) and returns Run's error.
func (e *env) runPlugin(conc int, h plugin.Handler) func() error {
	return runPluginAt(e.t, e.srv.URL, e.plugin.ID, e.secret, conc, h)
}

func runPluginAt(t *testing.T, url, id, secret string, conc int, h plugin.Handler) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- plugin.Run(ctx, plugin.Config{Host: url, ID: id, Secret: secret, Concurrency: conc, Logger: quiet(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}, h)
	}()
	var stopped atomic.Bool
	stop := func() error {
		if stopped.Swap(true) {
			return nil
		}
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Error("plugin.Run did not return")
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	return stop
}

func (e *env) waitOnline(n int) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		in, _ := e.store.ListInstances(context.Background(), e.plugin.ID)
		if len(in) >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("%d instances did not come online", n)
}

func (e *env) run(params string) labelhub.Run {
	e.t.Helper()
	r, err := e.hub.CreateRun(context.Background(), e.actor, e.plugin.ID, labelhub.RunInput{ProjectID: e.project.ID, Params: json.RawMessage(params)})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) wait(id string) labelhub.Run {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := e.hub.Wait(ctx, e.actor.Org.ID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	if !r.State.Final() {
		e.t.Fatalf("run %s still %s", id, r.State)
	}
	return r
}

func TestRoundTripLogsProgressToken(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{}, labelhub.PluginFileExplorer)
	var token string
	var tokenWorked atomic.Bool
	e.runPlugin(1, plugin.FileExplorerFunc(func(ctx context.Context, r *plugin.FileExplorerRequest) (plugin.FileExplorerResult, error) {
		var cfg struct{ Depth int }
		if err := r.DecodeConfig(&cfg); err != nil || cfg.Depth != 1 {
			return plugin.FileExplorerResult{}, errors.New("config not received")
		}
		token = r.APIKey
		a, err := e.store.AuthenticateRunToken(ctx, r.APIKey)
		tokenWorked.Store(err == nil && a.Scope != nil && a.Scope.ProjectID == e.project.ID && a.Scope.PluginType == labelhub.PluginFileExplorer)
		r.Log.Info("listing", "folder", r.Folder, slog.Group("g", "n", 2))
		r.Progress(1, 2, "half")
		next := "t2"
		return plugin.FileExplorerResult{Folders: []string{r.Folder + "sub/"}, Files: []string{r.Folder + "a.jpg"}, ScrollToken: &next}, nil
	}))
	e.waitOnline(1)
	run := e.wait(e.run(`{"folder":"img/","upload":false}`).ID)
	if run.State != labelhub.RunSucceeded || run.Attempts != 1 || run.FinishedAt == nil {
		t.Fatalf("run = %+v", run)
	}
	var res struct {
		Folders, Files []string
		ScrollToken    *string
	}
	if err := json.Unmarshal(run.Result, &res); err != nil || res.Folders[0] != "img/sub/" || res.Files[0] != "img/a.jpg" || *res.ScrollToken != "t2" {
		t.Fatalf("result %s: %v", run.Result, err)
	}
	if run.Progress != (labelhub.RunProgress{Done: 1, Total: 2, Message: "half"}) {
		t.Errorf("progress %+v", run.Progress)
	}
	logs, err := e.store.ListRunLogs(context.Background(), e.actor.Org.ID, run.ID, 0, 100)
	if err != nil || len(logs) != 1 || logs[0].Message != "listing" || string(logs[0].Attrs) != `{"folder":"img/","g":{"n":2}}` {
		t.Fatalf("logs %+v %v", logs, err)
	}
	if !tokenWorked.Load() || !strings.HasPrefix(token, "lhr_") {
		t.Fatalf("the run token %q did not authenticate during the run", token)
	}
	if _, err := e.store.AuthenticateRunToken(context.Background(), token); labelhub.ErrorCode(err) != labelhub.ECodeUnauthorized {
		t.Fatalf("token outlives its run: %v", err)
	}
}

func TestWrongSecretStopsThePlugin(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{}, labelhub.PluginExport)
	var ae *plugin.AuthError
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- plugin.Run(ctx, plugin.Config{Host: e.srv.URL, ID: e.plugin.ID, Secret: e.secret + "x", Logger: quiet()}, plugin.HandlerFunc(nil))
	}()
	got := <-errc
	if !errors.As(got, &ae) || ae.Reason != "wrong plugin id or secret" {
		t.Fatalf("Run = %v, want an AuthError naming the reason", got)
	}
}

func TestQueuedRunWaitsThenTimesOut(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{QueueTimeout: 300 * time.Millisecond}, labelhub.PluginExport)
	r := e.run(`{}`)
	if r.State != labelhub.RunQueued {
		t.Fatalf("state %s", r.State)
	}
	// A plugin that comes online within the queue time takes the run.
	e.runPlugin(1, plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) { return "ok", nil }))
	if got := e.wait(r.ID); got.State != labelhub.RunSucceeded {
		t.Fatalf("late plugin: %+v", got)
	}
	// Without any plugin, a run times out naming why.
	e2 := newEnv(t, nil, pluginhub.Config{QueueTimeout: 100 * time.Millisecond}, labelhub.PluginExport)
	got := e2.wait(e2.run(`{}`).ID)
	if got.State != labelhub.RunTimedOut || !strings.Contains(got.Error, "no plugin instance") {
		t.Fatalf("no plugin: %+v", got)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{CancelGrace: 200 * time.Millisecond}, labelhub.PluginExport)
	started := make(chan string, 2)
	release := make(chan struct{})
	e.runPlugin(2, plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
		started <- r.Session
		var p struct{ Obey bool }
		json.Unmarshal(r.Params, &p)
		if p.Obey {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		<-release // ignores the cancel
		return "late", nil
	}))
	defer close(release)
	e.waitOnline(1)
	obey, ignore := e.run(`{"obey":true}`), e.run(`{"obey":false}`)
	<-started
	<-started
	for _, id := range []string{obey.ID, ignore.ID} {
		if _, err := e.hub.Cancel(context.Background(), e.actor.Org.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now()
	if got := e.wait(obey.ID); got.State != labelhub.RunCancelled {
		t.Fatalf("obeying run: %+v", got)
	}
	got := e.wait(ignore.ID)
	if got.State != labelhub.RunCancelled || !strings.Contains(got.Error, "grace period") || time.Since(t0) < 200*time.Millisecond {
		t.Fatalf("ignoring run: %+v after %s", got, time.Since(t0))
	}
	// Its slot is free again: a new run goes through.
	_, err := e.hub.Cancel(context.Background(), e.actor.Org.ID, labelhub.NewID())
	if labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
		t.Fatalf("cancel unknown: %v", err)
	}
}

func TestCrashedInstanceRunGoesElsewhere(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{}, labelhub.PluginExport)
	hang := make(chan struct{})
	defer close(hang)
	var first atomic.Int32
	stopA := e.runPlugin(1, plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
		first.Add(1)
		<-hang
		return nil, nil
	}))
	e.waitOnline(1)
	r := e.run(`{}`)
	for first.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	e.runPlugin(1, plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) { return r.Attempt, nil }))
	e.waitOnline(2)
	go stopA() // the first process dies mid-run
	got := e.wait(r.ID)
	if got.State != labelhub.RunSucceeded || got.Attempts != 2 || string(got.Result) != "2" {
		t.Fatalf("run after crash: %+v", got)
	}
}

func TestCrashAfterLastAttemptFails(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{MaxAttempts: 1}, labelhub.PluginExport)
	started := make(chan struct{}, 1)
	stop := e.runPlugin(1, plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
		started <- struct{}{}
		select {}
	}))
	e.waitOnline(1)
	r := e.run(`{}`)
	<-started
	go stop()
	got := e.wait(r.ID)
	if got.State != labelhub.RunFailed || !strings.Contains(got.Error, "attempt 1 of 1") {
		t.Fatalf("%+v", got)
	}
}

func TestLogFloodIsCapped(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{MaxLogLines: 10}, labelhub.PluginExport)
	e.runPlugin(1, plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
		for i := range 1000 {
			r.Log.Info("line", "i", i)
		}
		return nil, nil
	}))
	got := e.wait(e.run(`{}`).ID)
	logs, _ := e.store.ListRunLogs(context.Background(), e.actor.Org.ID, got.ID, 0, 1000)
	if got.State != labelhub.RunSucceeded || len(logs) != 11 || !strings.Contains(logs[10].Message, "truncated") || !strings.Contains(logs[10].Message, "10") {
		t.Fatalf("run %s, %d logs, last %+v", got.State, len(logs), logs[len(logs)-1])
	}
}

// rawConn is a hand-written plugin that says hello and then misbehaves.
func rawConn(t *testing.T, e *env) *websocket.Conn {
	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	b, _ := pluginproto.Encode(&pluginproto.Message{Type: pluginproto.TypeHello, PluginID: e.plugin.ID, Secret: e.secret, Concurrency: 1}, 0)
	ws.Write(ctx, websocket.MessageText, b)
	if _, w, err := ws.Read(ctx); err != nil || !strings.Contains(string(w), "welcome") {
		t.Fatalf("welcome: %s %v", w, err)
	}
	return ws
}

func TestBadMessages(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{MaxMessageBytes: 4096}, labelhub.PluginExport)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Results and logs for runs the instance does not hold are ignored.
	ws := rawConn(t, e)
	for _, m := range []pluginproto.Message{
		{Type: pluginproto.TypeResult, ID: labelhub.NewID(), Result: json.RawMessage(`1`)},
		{Type: pluginproto.TypeLog, ID: "nope", Level: "info", Msg: "x"},
		{Type: pluginproto.TypeHeartbeat},
	} {
		b, _ := pluginproto.Encode(&m, 0)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	// A malformed message closes the connection with the reason.
	ws.Write(ctx, websocket.MessageText, []byte(`{"v":1,"type":"run.result"`))
	_, _, err := ws.Read(ctx)
	for err == nil {
		_, _, err = ws.Read(ctx)
	}
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("after garbage: %v", err)
	}
	// An oversized message closes with 1009.
	ws2 := rawConn(t, e)
	ws2.Write(ctx, websocket.MessageText, []byte(strings.Repeat("x", 5000)))
	_, _, err = ws2.Read(ctx)
	for err == nil {
		_, _, err = ws2.Read(ctx)
	}
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("after oversized: %v", err)
	}
	// A plugin that never answers hello is dropped; the hub keeps serving.
	e.runPlugin(1, plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) { return "fine", nil }))
	if got := e.wait(e.run(`{}`).ID); got.State != labelhub.RunSucceeded {
		t.Fatalf("hub after bad plugins: %+v", got)
	}
}

func TestRotateSecretDisconnects(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{}, labelhub.PluginExport)
	errc := make(chan error, 1)
	go func() {
		errc <- plugin.Run(context.Background(), plugin.Config{Host: e.srv.URL, ID: e.plugin.ID, Secret: e.secret, Logger: quiet()}, plugin.HandlerFunc(nil))
	}()
	e.waitOnline(1)
	if _, err := e.store.RotatePluginSecret(context.Background(), e.actor.Org.ID, e.plugin.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		var ae *plugin.AuthError
		if !errors.As(err, &ae) || !strings.Contains(ae.Reason, "rotated") {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the connection with the old secret stayed open")
	}
}

// Two replicas on one PostgreSQL database: a run created through one
// reaches a plugin connected to the other; logs are in the shared store.
func TestReplicas(t *testing.T) {
	dsn := testservers.Postgres(t)
	s1, s2 := openStore(t, dsn), openStore(t, dsn)
	e := newEnv(t, s1, pluginhub.Config{ReplicaID: "one"}, labelhub.PluginExport)
	_, srv2 := startHub(t, s2, pluginhub.Config{ReplicaID: "two"})
	runPluginAt(t, srv2.URL, e.plugin.ID, e.secret, 2, plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
		r.Log.Warn("from replica two")
		return map[string]string{"project": r.ProjectID}, nil
	}))
	e.waitOnline(1)
	in, _ := e.store.ListInstances(context.Background(), e.plugin.ID)
	if in[0].ReplicaID != "two" {
		t.Fatalf("instances %+v", in)
	}
	got := e.wait(e.run(`{}`).ID)
	if got.State != labelhub.RunSucceeded || !strings.Contains(string(got.Result), e.project.ID) {
		t.Fatalf("%+v", got)
	}
	for _, s := range []*sqlstore.Store{s1, s2} {
		logs, err := s.ListRunLogs(context.Background(), e.actor.Org.ID, got.ID, 0, 10)
		if err != nil || len(logs) != 1 || logs[0].Message != "from replica two" {
			t.Fatalf("logs %+v %v", logs, err)
		}
	}
}

// A hub that stops mid-run: the next start recovers the run from the
// database and another instance finishes it.
func TestRestartRecoversRuns(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "restart.db")
	s := openStore(t, dsn)
	e := newEnv(t, s, pluginhub.Config{Heartbeat: 100 * time.Millisecond}, labelhub.PluginExport)
	started := make(chan struct{}, 1)
	hang := make(chan struct{})
	defer close(hang)
	runPluginAt(t, e.srv.URL, e.plugin.ID, e.secret, 1, plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) {
		started <- struct{}{}
		<-hang
		return nil, nil
	}))
	e.waitOnline(1)
	r := e.run(`{}`)
	<-started
	e.srv.CloseClientConnections()
	e.hub.Close() // the hub process dies; its plugin keeps retrying it in vain
	if got, _ := s.GetRun(context.Background(), e.actor.Org.ID, r.ID); got.State != labelhub.RunRunning {
		t.Fatalf("after stop: %s", got.State)
	}
	h2, srv2 := startHub(t, s, pluginhub.Config{Heartbeat: 100 * time.Millisecond})
	runPluginAt(t, srv2.URL, e.plugin.ID, e.secret, 1, plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) { return "recovered", nil }))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, _ := h2.Wait(ctx, e.actor.Org.ID, r.ID)
	if got.State != labelhub.RunSucceeded || string(got.Result) != `"recovered"` || got.Attempts < 2 {
		t.Fatalf("after restart: %+v", got)
	}
}

// The database goes away (like a crash) while runs are being created: a
// run whose creation was acknowledged is in the database when it is opened
// again, and a new hub on it runs every one of them to the end; creations
// after the loss fail instead of being acknowledged.
func TestAcknowledgedRunsSurviveStoreLoss(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "loss.db")
	s := openStore(t, dsn)
	cfg := pluginhub.Config{Heartbeat: 100 * time.Millisecond}
	e := newEnv(t, s, cfg, labelhub.PluginExport)
	e.runPlugin(4, plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) { return "first", nil }))
	e.waitOnline(1)
	var mu sync.Mutex
	var acked []string
	var failed atomic.Int32
	enough := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r, err := e.hub.CreateRun(context.Background(), e.actor, e.plugin.ID, labelhub.RunInput{ProjectID: e.project.ID})
				if err != nil {
					failed.Add(1)
					return
				}
				mu.Lock()
				acked = append(acked, r.ID)
				if len(acked) >= 200 {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	<-enough
	s.Close() // the database is gone while creations are in flight
	wg.Wait()
	if failed.Load() != 8 {
		t.Fatalf("%d creators saw an error after the loss", failed.Load())
	}
	e.srv.CloseClientConnections()
	e.hub.Close()

	s2 := openStore(t, dsn)
	h2, srv2 := startHub(t, s2, cfg)
	runPluginAt(t, srv2.URL, e.plugin.ID, e.secret, 4, plugin.HandlerFunc(func(ctx context.Context, r *plugin.Request) (any, error) { return "second", nil }))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range acked {
		got, err := h2.Wait(ctx, e.actor.Org.ID, id)
		if err != nil {
			t.Fatalf("acknowledged run %s: %v", id, err)
		}
		if got.State != labelhub.RunSucceeded {
			t.Fatalf("acknowledged run %s: %+v", id, got)
		}
	}
}
