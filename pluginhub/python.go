package pluginhub

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/pluginproto"
	"github.com/labelhub/labelhub/socketio"
)

// Plugins written with the model hub's Python SDK (imerit-ango) connect
// with Socket.IO to namespace /plugin and speak its events instead of
// pluginproto: heartbeat {id, secret} (the only credential, sent on
// connect and every 60 s), plugin (hub → plugin: the run's data),
// response and log (plugin → hub). Such a connection becomes an ordinary
// instance of its plugin: pyLink translates the hub's messages into the
// SDK's events, and readSocketIO the SDK's events into the hub's.
// docs/python-plugins.md describes the mapping.

// SocketIONamespace is the namespace the SDK connects to.
const SocketIONamespace = "/plugin"

// DefaultSocketIOConcurrency is how many runs a Socket.IO instance is given
// at once: python-socketio calls the SDK's handler in a thread per event.
const DefaultSocketIOConcurrency = 4

// refusedEvent prefixes the name of the event the hub emits before it
// refuses a connection: python-socketio logs the names of events it
// receives, so the plugin's own output says why it was refused.
const refusedEvent = "labelhub refused this plugin: "

// SocketIO is the Engine.IO endpoint (mount it at /socket.io/).
func (h *Hub) SocketIO() http.Handler { return h.sio }

// pyLink is the transport of an instance that speaks the SDK's events.
type pyLink struct {
	h  *Hub
	so *socketio.Socket
}

// send translates a hub message; those the SDK has no event for are not
// sent.
func (l *pyLink) send(m *pluginproto.Message) error {
	switch m.Type {
	case pluginproto.TypeAssign:
		return l.so.Emit("plugin", sdkRunData(m.Run))
	case pluginproto.TypeCancel:
		l.h.note(m.ID, pluginproto.LevelWarn, "this plugin speaks the model hub's Socket.IO protocol, which has no cancel: "+
			"its callback goes on until it returns; the hub stops waiting for it after the grace period")
	}
	return nil
}

func (l *pyLink) close(reason string) { l.so.CloseSession(reason) }

// sdkRunData is the data of the plugin event, with the field names the
// SDK's generations and their users' scripts read: old ones call
// callback(**data) and read batches from "tags", newer ones read
// "batches"; exports read "stage" as a list. Only these names are sent,
// since an old callback with fixed parameters breaks on unknown ones (and
// old SDKs choke on completed_at/updated_at).
func sdkRunData(r *pluginproto.Run) map[string]any {
	config := r.ConfigJSON
	if strings.TrimSpace(config) == "" {
		config = "{}"
	}
	batches := r.Batches
	if batches == nil {
		batches = []string{}
	}
	d := map[string]any{"session": r.Session, "apiKey": r.APIKey, "orgId": r.OrgID, "runBy": r.RunBy,
		"projectId": r.ProjectID, "pluginId": r.PluginID, "configJSON": config, "batches": batches, "tags": batches}
	var p map[string]json.RawMessage
	_ = json.Unmarshal(r.Params, &p)
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(p[k], &s)
		return s
	}
	switch labelhub.PluginType(r.PluginType) {
	case labelhub.PluginExport:
		stage := []string{}
		if s := str("stage"); s != "" {
			stage = append(stage, s)
		}
		d["stage"] = stage
		var n int64
		if json.Unmarshal(p["numTasks"], &n) == nil {
			d["numTasks"] = n
		}
	case labelhub.PluginFileExplorer:
		var upload bool
		_ = json.Unmarshal(p["upload"], &upload)
		files := []string{}
		_ = json.Unmarshal(p["files"], &files)
		if files == nil {
			files = []string{}
		}
		var token any
		if t := str("scrollToken"); t != "" {
			token = t
		}
		d["integrationId"], d["storageId"] = str("integrationId"), str("integrationId")
		d["bucket"], d["folder"], d["files"], d["upload"], d["scrollToken"] = str("bucket"), str("folder"), files, upload, token
		d["extensions"] = []string{}
		var recursive bool
		if json.Unmarshal(p["recursive"], &recursive) == nil && recursive {
			// labelhub's own field, sent only when asked for, so that old
			// callbacks with fixed parameters meet it only then.
			d["recursive"] = true
		}
	}
	return d
}

// serveSocketIO is the life of one Socket.IO client in namespace /plugin.
func (h *Hub) serveSocketIO(so *socketio.Socket) {
	ctx := h.ctx
	hctx, cancel := context.WithTimeout(ctx, h.cfg.HelloTimeout)
	var ev socketio.Event
	var err error
	for {
		ev, err = so.Read(hctx)
		if err != nil || ev.Name == "heartbeat" {
			break
		}
	}
	cancel()
	if err != nil {
		if hctx.Err() != nil && ctx.Err() == nil {
			h.refuse(so, "no heartbeat {id, secret} within "+h.cfg.HelloTimeout.String())
		}
		return
	}
	var cred struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if json.Unmarshal(ev.Arg(), &cred) != nil || cred.ID == "" || len(cred.ID) > pluginproto.MaxIDBytes {
		h.refuse(so, `the heartbeat must be {"id": "<plugin id>", "secret": "<plugin secret>"}`)
		return
	}
	p, err := h.store.AuthenticatePlugin(ctx, cred.ID, cred.Secret)
	if err != nil {
		if labelhub.ErrorCode(err) != labelhub.ECodeUnauthorized {
			h.log.Error("authenticate plugin", "err", err)
			h.refuse(so, "the hub cannot check credentials now")
			return
		}
		h.log.Warn("plugin refused", "plugin", cred.ID, "remote", so.RemoteAddr(), "reason", "wrong plugin id or secret")
		h.refuse(so, "wrong plugin id or secret")
		return
	}
	c := &conn{h: h, id: labelhub.NewID(), plugin: p, secret: cred.Secret, capacity: h.cfg.SocketIOConcurrency, runs: map[string]*activeRun{}}
	c.py = &pyLink{h: h, so: so}
	c.seen.Store(time.Now().UnixNano())
	host, _, _ := net.SplitHostPort(so.RemoteAddr())
	if err := h.admit(ctx, c, host, "imerit-ango (Socket.IO, "+so.Transport()+")", func() error { return nil }); err != nil {
		h.refuse(so, "the hub cannot register the instance now")
		return
	}
	reason := h.readSocketIO(c)
	h.disconnect(c, reason)
}

// refuse tells the client why, then refuses its namespace: python-socketio
// drops the namespace, and the SDK's next heartbeat fails and ends the
// process (it does not reconnect, as it would after a disconnect).
func (h *Hub) refuse(so *socketio.Socket, reason string) {
	_ = so.Emit(refusedEvent+reason, map[string]string{"message": reason})
	so.Refuse(reason)
}

// readSocketIO handles the instance's events until it goes and returns why.
func (h *Hub) readSocketIO(c *conn) string {
	so := c.py.so
	for {
		ev, err := so.Read(h.ctx)
		if err != nil {
			if r := so.Reason(); r != "" && r != "the client disconnected" {
				return "the plugin instance disconnected: " + r
			}
			return "the plugin instance disconnected"
		}
		c.seen.Store(time.Now().UnixNano())
		switch ev.Name {
		case "heartbeat":
		case "response":
			if err := h.sdkResponse(c, "", ev.Arg()); err != nil {
				h.log.Warn("plugin response", "instance", c.id, "err", err)
			}
		case "log":
			if err := h.sdkLog(c, "", ev.Arg()); err != nil {
				h.log.Debug("plugin log", "instance", c.id, "err", err)
			}
		default:
			h.log.Debug("unexpected event from a plugin", "event", cut(ev.Name, 100), "instance", c.id)
		}
	}
}

// sdkTerminalErrors start the error lines the SDK logs when an export
// ends without a response (its export call or the upload failed): such a
// run would otherwise wait for its deadline.
var sdkTerminalErrors = []string{"Error calling sdk.export", "HTTP error occurred", "Other error occurred"}

// sdkLog records a log event {level, organization, pluginId, runBy,
// session, msg} as a line of the session's log. runID, when set, is the
// run the caller was authenticated for.
func (h *Hub) sdkLog(c *conn, runID string, raw json.RawMessage) error {
	var l struct {
		Level   string          `json:"level"`
		Session string          `json:"session"`
		Msg     json.RawMessage `json:"msg"`
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		return labelhub.Errorf(labelhub.ECodeInvalid, "a log must be an object {level, session, msg}: %v", err)
	}
	if runID != "" && l.Session != "" && l.Session != runID {
		return labelhub.Errorf(labelhub.ECodeForbidden, "session %q is not the run of this token", cut(l.Session, 64))
	}
	if runID == "" {
		runID = l.Session
	}
	var msg string
	if json.Unmarshal(l.Msg, &msg) != nil {
		msg = string(l.Msg) // the SDK sends what the script logged
	}
	h.mu.Lock()
	ar := h.active[runID]
	if ar != nil && c != nil && ar.conn != c {
		ar = nil
	}
	h.mu.Unlock()
	if ar == nil {
		return labelhub.Errorf(labelhub.ECodeNotFound, "run %q is not running on this hub", cut(runID, 64))
	}
	level := sdkLevel(l.Level)
	msg = redactSignedURLs(msg)
	committed := h.appendLog(ar, &pluginproto.Message{Level: level, Msg: msg})
	if c == nil {
		// Over REST the caller is answered once the line is stored.
		select {
		case <-committed:
		case <-time.After(10 * time.Second):
		}
	}
	if level == pluginproto.LevelError && ar.conn.plugin.Type == labelhub.PluginExport {
		for _, p := range sdkTerminalErrors {
			if strings.HasPrefix(msg, p) {
				h.finish(ar.conn, runID, labelhub.RunFailed, nil, cut(msg, pluginproto.MaxTextBytes))
				break
			}
		}
	}
	return nil
}

// signedURL matches the token of the hub's signed /v2 URLs, which the SDK
// puts into its error lines ("… for url: http://hub/v2/upload/<token>"):
// a session's log is read by more people than the plugin.
var signedURL = regexp.MustCompile(`/v2/(upload|exports|download)/[A-Za-z0-9_.-]+`)

func redactSignedURLs(s string) string {
	if !strings.Contains(s, "/v2/") {
		return s
	}
	return signedURL.ReplaceAllString(s, "/v2/$1/<signed token>")
}

func sdkLevel(l string) string {
	switch strings.ToLower(strings.TrimSpace(l)) {
	case "debug", "notset":
		return pluginproto.LevelDebug
	case "warn", "warning":
		return pluginproto.LevelWarn
	case "error", "critical", "fatal", "exception":
		return pluginproto.LevelError
	}
	return pluginproto.LevelInfo
}

// sdkResponse ends a run with a response event: {response, session}, or
// {error: true, session}, or for exports {export: true, response: <URL>,
// session}. A response that names no run of the instance fails the run
// when the instance holds only one, since otherwise it would wait for its
// deadline.
func (h *Hub) sdkResponse(c *conn, runID string, raw json.RawMessage) error {
	var r struct {
		Session  *string         `json:"session"`
		Response json.RawMessage `json:"response"`
		Error    json.RawMessage `json:"error"`
		Export   json.RawMessage `json:"export"`
	}
	decodeErr := json.Unmarshal(raw, &r)
	session := ""
	if r.Session != nil {
		session = *r.Session
	}
	if runID != "" {
		if session != "" && session != runID {
			return labelhub.Errorf(labelhub.ECodeForbidden, "session %q is not the run of this token", cut(session, 64))
		}
		session = runID
	}
	h.mu.Lock()
	ar := h.active[session]
	if ar != nil && c != nil && ar.conn != c {
		ar = nil
	}
	if ar == nil && c != nil && len(c.runs) == 1 {
		for _, only := range c.runs {
			ar = only
		}
		if decodeErr == nil {
			decodeErr = fmt.Errorf(`its "session" is %q, not the id of the run it holds`, cut(session, 64))
		}
	}
	h.mu.Unlock()
	if ar == nil {
		if decodeErr != nil {
			return labelhub.Errorf(labelhub.ECodeInvalid, "malformed response: %v", decodeErr)
		}
		return labelhub.Errorf(labelhub.ECodeNotFound, "run %q is not running on this hub", cut(session, 64))
	}
	id := ar.run.ID
	if decodeErr != nil {
		h.finish(ar.conn, id, labelhub.RunFailed, nil, "the plugin sent a malformed response: "+cut(decodeErr.Error(), 500))
		return labelhub.Errorf(labelhub.ECodeInvalid, "malformed response: %v", decodeErr)
	}
	switch {
	case truthy(r.Error):
		msg := "the plugin's callback raised an exception; the SDK sends the hub no details of it: they are in the plugin process's own output"
		if s := textOf(r.Error); s != "" {
			msg = "the plugin failed: " + s
		}
		h.finish(ar.conn, id, labelhub.RunFailed, nil, msg)
	case truthy(r.Export):
		h.finishExport(ar.conn, ar.run)
	case len(r.Response) == 0 || string(r.Response) == "null":
		h.finish(ar.conn, id, labelhub.RunFailed, nil, `the plugin sent a malformed response: it has no "response" field`)
		return labelhub.Errorf(labelhub.ECodeInvalid, `malformed response: it has no "response" field`)
	default:
		if msg := failureOf(r.Response); msg != "" {
			h.finish(ar.conn, id, labelhub.RunFailed, nil, cut(msg, pluginproto.MaxTextBytes))
			return nil
		}
		h.finish(ar.conn, id, labelhub.RunSucceeded, r.Response, "")
	}
	return nil
}

// failureOf reads a File Explorer's {status, error} or {success: false}
// answer as a failure; error may be a text or an object with a message
// ({"status": "fail", "error": {"status": "error", "message": "…"}}).
func failureOf(resp json.RawMessage) string {
	var o struct {
		Status  string          `json:"status"`
		Error   json.RawMessage `json:"error"`
		Success *bool           `json:"success"`
	}
	if json.Unmarshal(resp, &o) != nil {
		return ""
	}
	errText := textOf(o.Error)
	if errText == "" {
		var e struct {
			Message string `json:"message"`
			Error   string `json:"error"`
		}
		if json.Unmarshal(o.Error, &e) == nil {
			errText = cmp.Or(e.Message, e.Error)
		}
	}
	switch strings.ToLower(o.Status) {
	case "error", "fail", "failed", "failure":
		return cmp.Or(errText, "the plugin answered status "+o.Status)
	}
	switch {
	case errText != "" && errText != "false":
		return errText
	case o.Success != nil && !*o.Success:
		return "the plugin answered success: false"
	}
	return ""
}

// finishExport ends an export run that reported its download URL: it
// succeeds only if the plugin's upload reached the hub.
func (h *Hub) finishExport(c *conn, r labelhub.Run) {
	type artifacts interface {
		GetRunArtifact(ctx context.Context, orgID, runID string) (labelhub.RunArtifact, error)
	}
	as, ok := h.store.(artifacts)
	if !ok {
		h.finish(c, r.ID, labelhub.RunSucceeded, mustJSON(map[string]any{}), "")
		return
	}
	a, err := as.GetRunArtifact(h.ctx, r.OrgID, r.ID)
	switch {
	case labelhub.ErrorCode(err) == labelhub.ECodeNotFound:
		h.finish(c, r.ID, labelhub.RunFailed, nil, "the export plugin reported its file, but no file was uploaded to the hub")
	case err != nil:
		h.finish(c, r.ID, labelhub.RunFailed, nil, "the hub could not check the run's file: "+err.Error())
	default:
		// The SDK's signed URL is not kept: it opens the file to anyone who
		// has it, and the run's file is downloaded with the run.
		h.finish(c, r.ID, labelhub.RunSucceeded, mustJSON(map[string]any{"fileName": a.Name, "size": a.Size}), "")
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func truthy(v json.RawMessage) bool {
	s := strings.TrimSpace(string(v))
	return s != "" && s != "false" && s != "null" && s != "0" && s != `""`
}

func textOf(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return ""
}

// note adds a line to the log of a run held here.
func (h *Hub) note(runID, level, msg string) {
	h.mu.Lock()
	ar := h.active[runID]
	h.mu.Unlock()
	if ar != nil {
		h.appendLog(ar, &pluginproto.Message{Level: level, Msg: msg})
	}
}

// FailRun ends runID, held by this replica, as failed with msg; the hub
// calls it when it refused something the run needed (the result file of a
// plugin whose SDK would not say why). False when the run is not held here.
func (h *Hub) FailRun(runID, msg string) bool {
	h.mu.Lock()
	ar := h.active[runID]
	h.mu.Unlock()
	if ar == nil {
		return false
	}
	h.finish(ar.conn, runID, labelhub.RunFailed, nil, cut(msg, pluginproto.MaxTextBytes))
	return true
}

// PluginLog adds a line sent over REST (POST /v2/pluginLog) to the log of
// runID, the run of the caller's token, when this replica holds the run.
func (h *Hub) PluginLog(ctx context.Context, runID, level, msg string) error {
	body := mustJSON(map[string]string{"level": level, "session": runID, "msg": msg})
	return h.sdkLog(nil, runID, body)
}

// PluginResponse ends runID with a response sent over REST (POST
// /v2/pluginResponse), as the response event does.
func (h *Hub) PluginResponse(ctx context.Context, runID string, body json.RawMessage) error {
	if runID == "" {
		return errors.New("pluginhub: no run")
	}
	return h.sdkResponse(nil, runID, body)
}
