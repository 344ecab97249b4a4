package pluginhub_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/pluginhub"
)

// sdkClient speaks Socket.IO over a WebSocket by hand, as the model hub's
// Python SDK does on the wire: namespace /plugin, heartbeat first.
type sdkClient struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialSDK(t *testing.T, e *env) *sdkClient {
	t.Helper()
	srv := httptest.NewServer(e.hub.SocketIO())
	t.Cleanup(srv.Close)
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/socket.io/?transport=websocket&EIO=4", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(4 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	c := &sdkClient{t: t, ws: ws}
	if open := c.read(); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open %q", open)
	}
	c.write("40/plugin,")
	if ack := c.read(); !strings.HasPrefix(ack, `40/plugin,{"sid"`) {
		t.Fatalf("namespace ack %q", ack)
	}
	return c
}

func (c *sdkClient) write(s string) {
	c.t.Helper()
	if err := c.ws.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next packet that is not a ping (answered).
func (c *sdkClient) read() string {
	c.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, b, err := c.ws.Read(ctx)
		cancel()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if string(b) == "2" {
			c.write("3")
			continue
		}
		return string(b)
	}
}

func (c *sdkClient) emit(event string, data any) {
	c.t.Helper()
	b, err := json.Marshal([]any{event, data})
	if err != nil {
		c.t.Fatal(err)
	}
	c.write("42/plugin," + string(b))
}

// nextRun reads the plugin event and returns its data.
func (c *sdkClient) nextRun() map[string]any {
	c.t.Helper()
	p := c.read()
	if !strings.HasPrefix(p, `42/plugin,["plugin",`) {
		c.t.Fatalf("expected the plugin event, got %q", p)
	}
	var ev []json.RawMessage
	if err := json.Unmarshal([]byte(strings.TrimPrefix(p, "42/plugin,")), &ev); err != nil || len(ev) != 2 {
		c.t.Fatalf("plugin event %q: %v", p, err)
	}
	var d map[string]any
	if err := json.Unmarshal(ev[1], &d); err != nil {
		c.t.Fatal(err)
	}
	return d
}

func TestSocketIOWrongSecretIsRefused(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{}, labelhub.PluginExport)
	c := dialSDK(t, e)
	c.emit("heartbeat", map[string]string{"id": e.plugin.ID, "secret": "not-the-secret"})
	if got := c.read(); !strings.HasPrefix(got, `42/plugin,["labelhub refused this plugin: wrong plugin id or secret"`) {
		t.Fatalf("reason event %q", got)
	}
	if got := c.read(); got != `44/plugin,{"message":"wrong plugin id or secret"}` {
		t.Fatalf("connect error %q", got)
	}
	if in, _ := e.store.ListInstances(context.Background(), e.plugin.ID); len(in) != 0 {
		t.Fatalf("instances %+v", in)
	}
}

func TestSocketIOExportRun(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{}, labelhub.PluginExport)
	c := dialSDK(t, e)
	c.emit("heartbeat", map[string]string{"id": e.plugin.ID, "secret": e.secret})
	e.waitOnline(1)
	in, _ := e.store.ListInstances(context.Background(), e.plugin.ID)
	if in[0].Concurrency != pluginhub.DefaultSocketIOConcurrency || !strings.Contains(in[0].SDKVersion, "Socket.IO") {
		t.Errorf("instance %+v", in[0])
	}
	run := e.run(`{}`)
	d := c.nextRun()
	for k, want := range map[string]any{"session": run.ID, "projectId": e.project.ID, "orgId": e.actor.Org.ID, "runBy": e.actor.User.ID,
		"pluginId": e.plugin.ID, "configJSON": `{"depth":1}`} {
		if d[k] != want {
			t.Errorf("%s = %v, want %v", k, d[k], want)
		}
	}
	for _, k := range []string{"batches", "tags", "stage"} {
		if l, ok := d[k].([]any); !ok || len(l) != 0 {
			t.Errorf("%s = %#v, want an empty list", k, d[k])
		}
	}
	if key, _ := d["apiKey"].(string); !strings.HasPrefix(key, "lhr_") {
		t.Errorf("apiKey %q is not a run token", key)
	}
	for _, k := range []string{"completed_at", "updated_at", "params", "deadline"} {
		if _, ok := d[k]; ok {
			t.Errorf("the plugin event carries %s, which old SDKs choke on", k)
		}
	}
	c.emit("log", map[string]any{"level": "WARNING", "organization": e.actor.Org.ID, "pluginId": e.plugin.ID,
		"runBy": e.actor.User.ID, "session": run.ID, "msg": "zipping 0 tasks"})
	c.emit("log", map[string]any{"level": "info", "session": run.ID, "msg": "put to http://hub/v2/upload/eyJr.abc_-9 failed"})
	// No file was uploaded: a reported export fails and says so.
	c.emit("response", map[string]any{"export": true, "response": "http://hub/v2/files/x", "session": run.ID})
	got := e.wait(run.ID)
	if got.State != labelhub.RunFailed || !strings.Contains(got.Error, "no file was uploaded") {
		t.Fatalf("run %s %q", got.State, got.Error)
	}
	logs, err := e.store.ListRunLogs(context.Background(), e.actor.Org.ID, run.ID, 0, 10)
	if err != nil || len(logs) != 2 || logs[0].Level != "warn" || logs[0].Message != "zipping 0 tasks" ||
		logs[1].Message != "put to http://hub/v2/upload/<signed token> failed" {
		t.Fatalf("logs %+v %v", logs, err)
	}
}

func TestSocketIOResponses(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{}, labelhub.PluginFileExplorer)
	c := dialSDK(t, e)
	c.emit("heartbeat", map[string]string{"id": e.plugin.ID, "secret": e.secret})
	e.waitOnline(1)
	for _, tc := range []struct {
		name, params string
		check        func(t *testing.T, d map[string]any)
		answer       func(session string) any
		state        labelhub.RunState
		result, err  string
	}{
		{name: "listing", params: `{"integrationId":"st1","bucket":"b","folder":"cats/","scrollToken":"p2","batches":["b1"]}`,
			check: func(t *testing.T, d map[string]any) {
				if d["integrationId"] != "st1" || d["storageId"] != "st1" || d["bucket"] != "b" || d["folder"] != "cats/" ||
					d["scrollToken"] != "p2" || d["upload"] != false {
					t.Errorf("file explorer fields %v", d)
				}
				if b, _ := json.Marshal([]any{d["batches"], d["tags"], d["files"], d["extensions"]}); string(b) != `[["b1"],["b1"],[],[]]` {
					t.Errorf("lists %s", b)
				}
				if _, ok := d["recursive"]; ok {
					t.Error("recursive is sent although the run did not ask for it")
				}
			},
			answer: func(s string) any {
				return map[string]any{"session": s, "response": map[string]any{"folders": []string{"cats/a/"}, "files": []string{"cats/1.jpg"}, "scrollToken": nil, "success": true}}
			},
			state: labelhub.RunSucceeded, result: `{"files":["cats/1.jpg"],"folders":["cats/a/"],"scrollToken":null,"success":true}`},
		{name: "import message", params: `{"upload":true,"folder":"cats/"}`,
			answer: func(s string) any { return map[string]any{"session": s, "response": "Imported 3 files"} },
			state:  labelhub.RunSucceeded, result: `"Imported 3 files"`},
		{name: "import status error", params: `{"upload":true}`,
			answer: func(s string) any {
				return map[string]any{"session": s, "response": map[string]any{"status": "error", "error": "bucket b not found"}}
			},
			state: labelhub.RunFailed, err: "bucket b not found"},
		{name: "callback raised", params: `{}`,
			answer: func(s string) any { return map[string]any{"session": s, "error": true} },
			state:  labelhub.RunFailed, err: "callback raised an exception; the SDK sends the hub no details"},
		{name: "import status fail with an error object", params: `{"upload":true,"recursive":true}`,
			check: func(t *testing.T, d map[string]any) {
				if d["recursive"] != true || d["upload"] != true {
					t.Errorf("recursive %v upload %v", d["recursive"], d["upload"])
				}
			},
			answer: func(s string) any {
				return map[string]any{"session": s, "response": map[string]any{"status": "fail",
					"error": map[string]any{"status": "error", "message": "the bucket is not reachable"}}}
			},
			state: labelhub.RunFailed, err: "the bucket is not reachable"},
		{name: "no session", params: `{}`,
			answer: func(s string) any { return map[string]any{"response": "done"} },
			state:  labelhub.RunFailed, err: `malformed response: its "session" is ""`},
		{name: "not an object", params: `{}`,
			answer: func(s string) any { return []int{1, 2} },
			state:  labelhub.RunFailed, err: "malformed response"},
		{name: "no response field", params: `{}`,
			answer: func(s string) any { return map[string]any{"session": s} },
			state:  labelhub.RunFailed, err: `no "response" field`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := e.run(tc.params)
			d := c.nextRun()
			if d["session"] != run.ID {
				t.Fatalf("session %v, want %s", d["session"], run.ID)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
			c.emit("response", tc.answer(run.ID))
			got := e.wait(run.ID)
			if got.State != tc.state || string(got.Result) != tc.result && tc.result != "" || !strings.Contains(got.Error, tc.err) {
				t.Fatalf("run %s result %s error %q", got.State, got.Result, got.Error)
			}
		})
	}
}

func TestSocketIODisconnectRequeuesRun(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{}, labelhub.PluginExport)
	c := dialSDK(t, e)
	c.emit("heartbeat", map[string]string{"id": e.plugin.ID, "secret": e.secret})
	e.waitOnline(1)
	run := e.run(`{}`)
	c.nextRun()
	c.ws.CloseNow() // the process was killed mid-run
	c2 := dialSDK(t, e)
	c2.emit("heartbeat", map[string]string{"id": e.plugin.ID, "secret": e.secret})
	d := c2.nextRun()
	if d["session"] != run.ID {
		t.Fatalf("reassigned %v, want %s", d["session"], run.ID)
	}
	c2.emit("response", map[string]any{"session": run.ID, "response": map[string]bool{"ok": true}})
	if got := e.wait(run.ID); got.State != labelhub.RunSucceeded || got.Attempts != 2 {
		t.Fatalf("run %s after %d attempts: %s", got.State, got.Attempts, got.Error)
	}
}

func TestSocketIOOversizedMessage(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{MaxMessageBytes: 4096}, labelhub.PluginExport)
	c := dialSDK(t, e)
	c.emit("heartbeat", map[string]string{"id": e.plugin.ID, "secret": e.secret})
	e.waitOnline(1)
	e.hub.CreateRun(context.Background(), e.actor, e.plugin.ID, labelhub.RunInput{ProjectID: e.project.ID, Params: json.RawMessage(`{}`)})
	d := c.nextRun()
	c.emit("response", map[string]any{"session": d["session"], "response": strings.Repeat("x", 5000)})
	// The connection is cut; the run goes back to the queue and, with no
	// instance left, waits there.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := e.store.GetRun(context.Background(), e.actor.Org.ID, d["session"].(string))
		if err == nil && got.State == labelhub.RunQueued {
			break
		}
		if err != nil || got.State.Final() || time.Now().After(deadline) {
			t.Fatalf("run %+v %v", got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The hub still serves: a new instance gets the run.
	c2 := dialSDK(t, e)
	c2.emit("heartbeat", map[string]string{"id": e.plugin.ID, "secret": e.secret})
	if d2 := c2.nextRun(); d2["session"] != d["session"] {
		t.Fatalf("run %v not reassigned", d["session"])
	}
}

func TestFailRun(t *testing.T) {
	e := newEnv(t, nil, pluginhub.Config{}, labelhub.PluginExport)
	c := dialSDK(t, e)
	c.emit("heartbeat", map[string]string{"id": e.plugin.ID, "secret": e.secret})
	e.waitOnline(1)
	run := e.run(`{}`)
	c.nextRun()
	if !e.hub.FailRun(run.ID, "the hub refused the plugin's result file: not a zip") {
		t.Fatal("FailRun did not find the run")
	}
	if got := e.wait(run.ID); got.State != labelhub.RunFailed || got.Error != "the hub refused the plugin's result file: not a zip" {
		t.Fatalf("run %s %q", got.State, got.Error)
	}
	if e.hub.FailRun(run.ID, "again") {
		t.Fatal("FailRun ended an ended run")
	}
}
