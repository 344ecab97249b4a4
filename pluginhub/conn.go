package pluginhub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/pluginproto"
)

// conn is one connected plugin instance.
type conn struct {
	h        *Hub
	id       string
	plugin   labelhub.Plugin
	secret   string          // to notice a rotation; the plugin holds it anyway
	ws       *websocket.Conn // the native protocol's socket, or nil
	py       *pyLink         // or the Python SDK's Socket.IO socket
	capacity int
	seen     atomic.Int64 // unix nanos of the last message
	closeMu  sync.Once

	// Guarded by h.mu.
	runs     map[string]*activeRun
	reserved int
	gone     bool
}

func (c *conn) lastSeen() time.Time { return time.Unix(0, c.seen.Load()) }

func (c *conn) send(m *pluginproto.Message) error {
	if c.py != nil {
		return c.py.send(m)
	}
	b, err := pluginproto.Encode(m, c.h.cfg.MaxMessageBytes)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.h.ctx, 10*time.Second)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

func (c *conn) closeWith(code websocket.StatusCode, reason string) {
	c.closeMu.Do(func() {
		if c.py != nil {
			go c.py.close(reason)
			return
		}
		go func() {
			_ = c.send(&pluginproto.Message{Type: pluginproto.TypeGoodbye, Reason: reason})
			_ = c.ws.Close(code, reason)
		}()
	})
}

func (h *Hub) serve(ctx context.Context, ws *websocket.Conn) {
	defer ws.CloseNow()
	hctx, cancel := context.WithTimeout(ctx, h.cfg.HelloTimeout)
	typ, b, err := ws.Read(hctx)
	cancel()
	if err != nil {
		ws.Close(websocket.StatusPolicyViolation, "no hello within "+h.cfg.HelloTimeout.String())
		return
	}
	m, err := pluginproto.Decode(b, h.cfg.MaxMessageBytes)
	if err != nil || typ != websocket.MessageText || m.Type != pluginproto.TypeHello {
		reason := "the first message must be hello"
		if err != nil {
			reason = err.Error()
		}
		ws.Close(websocket.StatusPolicyViolation, cut(reason, 120))
		return
	}
	p, err := h.store.AuthenticatePlugin(ctx, m.PluginID, m.Secret)
	if err != nil {
		if labelhub.ErrorCode(err) != labelhub.ECodeUnauthorized {
			h.log.Error("authenticate plugin", "err", err)
			ws.Close(websocket.StatusTryAgainLater, "the hub cannot check credentials now")
			return
		}
		ws.Close(CloseAuthFailed, "wrong plugin id or secret")
		return
	}
	capacity := m.Concurrency
	if capacity == 0 {
		capacity = 1
	}
	c := &conn{h: h, id: labelhub.NewID(), plugin: p, secret: m.Secret, ws: ws, capacity: capacity, runs: map[string]*activeRun{}}
	c.seen.Store(time.Now().UnixNano())
	welcome := func() error {
		return c.send(&pluginproto.Message{Type: pluginproto.TypeWelcome, InstanceID: c.id, PluginType: string(p.Type),
			HeartbeatMillis: h.cfg.Heartbeat.Milliseconds(), MaxMessageBytes: h.cfg.MaxMessageBytes, MaxLogLines: h.cfg.MaxLogLines})
	}
	if err := h.admit(ctx, c, m.Host, m.SDKVersion, welcome); err != nil {
		if !errors.Is(err, errWelcome) {
			ws.Close(websocket.StatusTryAgainLater, "the hub cannot register the instance now")
		}
		return
	}
	reason := h.readLoop(c)
	h.disconnect(c, reason)
}

var errWelcome = errors.New("pluginhub: the welcome could not be sent")

// admit registers c as an instance of its plugin, sends the welcome, and
// makes c a target of dispatch.
func (h *Hub) admit(ctx context.Context, c *conn, host, sdkVersion string, welcome func() error) error {
	t := time.Now().UTC()
	if err := h.store.RegisterInstance(ctx, labelhub.PluginInstance{ID: c.id, PluginID: c.plugin.ID, ReplicaID: h.cfg.ReplicaID,
		Host: cut(host, pluginproto.MaxTextBytes), SDKVersion: cut(sdkVersion, pluginproto.MaxTextBytes), Concurrency: c.capacity, ConnectedAt: t, LastSeen: t}); err != nil {
		h.log.Error("register plugin instance", "err", err)
		return err
	}
	if err := welcome(); err != nil {
		_ = h.store.DeleteInstance(context.Background(), c.id)
		return errWelcome
	}
	h.mu.Lock()
	h.conns[c.id] = c
	if h.byPlugin[c.plugin.ID] == nil {
		h.byPlugin[c.plugin.ID] = map[*conn]bool{}
	}
	h.byPlugin[c.plugin.ID][c] = true
	h.mu.Unlock()
	h.log.Info("plugin connected", "plugin", c.plugin.ID, "instance", c.id, "host", host, "sdk", sdkVersion, "concurrency", c.capacity)
	h.poke()
	return nil
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// readLoop handles the instance's messages until the connection ends and
// returns why it ended.
func (h *Hub) readLoop(c *conn) string {
	for {
		typ, b, err := c.ws.Read(h.ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusMessageTooBig || strings.Contains(err.Error(), "read limited") {
				c.ws.Close(websocket.StatusMessageTooBig, fmt.Sprintf("message larger than the limit of %d bytes", h.cfg.MaxMessageBytes))
				return fmt.Sprintf("the plugin sent a message larger than the limit of %d bytes", h.cfg.MaxMessageBytes)
			}
			return "the plugin instance disconnected"
		}
		c.seen.Store(time.Now().UnixNano())
		if typ != websocket.MessageText {
			c.ws.Close(websocket.StatusUnsupportedData, "messages must be text")
			return "the plugin sent a binary message"
		}
		m, err := pluginproto.Decode(b, h.cfg.MaxMessageBytes)
		if err != nil {
			h.log.Warn("malformed plugin message", "instance", c.id, "err", err)
			c.ws.Close(websocket.StatusPolicyViolation, cut(err.Error(), 120))
			return "the plugin sent a malformed message: " + err.Error()
		}
		h.handle(c, m)
	}
}

func (h *Hub) held(c *conn, runID string) *activeRun {
	h.mu.Lock()
	defer h.mu.Unlock()
	ar := h.active[runID]
	if ar == nil || ar.conn != c {
		return nil
	}
	return ar
}

func (h *Hub) handle(c *conn, m *pluginproto.Message) {
	switch m.Type {
	case pluginproto.TypeHeartbeat, pluginproto.TypeAccept:
	case pluginproto.TypeGoodbye:
		h.log.Info("plugin says goodbye", "instance", c.id, "reason", m.Reason)
	case pluginproto.TypeLog:
		ar := h.held(c, m.ID)
		if ar == nil {
			return // late logs of an ended run, or a run it does not hold
		}
		h.appendLog(ar, m)
	case pluginproto.TypeProgress:
		ar := h.held(c, m.ID)
		if ar == nil {
			return
		}
		pr := labelhub.RunProgress{Message: m.Msg}
		if m.Done != nil {
			pr.Done = *m.Done
		}
		if m.Total != nil {
			pr.Total = *m.Total
		}
		h.mu.Lock()
		ar.run.Progress = pr
		h.mu.Unlock()
		id := m.ID
		h.unordered(ar, &write{
			apply: func(ctx context.Context, st labelhub.PluginStore) error { return st.SetRunProgress(ctx, id, c.id, pr) },
			after: func(err error) {
				if err != nil {
					h.log.Error("run progress", "run", id, "err", err)
				}
				h.notify(id)
			}})
	case pluginproto.TypeResult:
		res := m.Result
		if len(res) == 0 {
			res = json.RawMessage("null")
		}
		h.finish(c, m.ID, labelhub.RunSucceeded, res, "")
	case pluginproto.TypeError:
		h.finish(c, m.ID, labelhub.RunFailed, nil, cut(m.Error, pluginproto.MaxTextBytes))
	default:
		h.log.Warn("unexpected message from a plugin", "type", m.Type, "instance", c.id)
	}
}

// appendLog adds a record to the run's log; the channel is closed once it
// is committed (or dropped past the cap).
func (h *Hub) appendLog(ar *activeRun, m *pluginproto.Message) <-chan struct{} {
	committed := make(chan struct{})
	h.mu.Lock()
	if ar.truncated {
		h.mu.Unlock()
		close(committed)
		return committed
	}
	var rec labelhub.RunLog
	if ar.logLines >= h.cfg.MaxLogLines {
		ar.truncated = true
		ar.logSeq++
		rec = labelhub.RunLog{Seq: ar.logSeq, Time: time.Now().UTC(), Level: pluginproto.LevelWarn,
			Message: fmt.Sprintf("log truncated: the limit of %d lines per run was reached", h.cfg.MaxLogLines),
			Attrs:   json.RawMessage(`{"truncated":true}`)}
	} else {
		ar.logLines++
		ar.logSeq++
		at := time.Now().UTC()
		if m.Time != nil {
			at = m.Time.UTC()
		}
		rec = labelhub.RunLog{Seq: ar.logSeq, Time: at, Level: m.Level, Message: cut(m.Msg, pluginproto.MaxLogMessageBytes), Attrs: m.Attrs}
	}
	h.mu.Unlock()
	id := ar.run.ID
	h.unordered(ar, &write{
		apply: func(ctx context.Context, st labelhub.PluginStore) error {
			return st.AppendRunLogs(ctx, id, []labelhub.RunLog{rec})
		},
		after: func(err error) {
			if err != nil {
				h.log.Error("run log", "run", id, "err", err)
			}
			h.notify(id)
			close(committed)
		}})
	return committed
}

// disconnect forgets the connection; its runs go to another instance, or
// fail after MaxAttempts.
func (h *Hub) disconnect(c *conn, reason string) {
	h.mu.Lock()
	c.gone = true
	delete(h.conns, c.id)
	delete(h.byPlugin[c.plugin.ID], c)
	if len(h.byPlugin[c.plugin.ID]) == 0 {
		delete(h.byPlugin, c.plugin.ID)
	}
	runs := make([]*activeRun, 0, len(c.runs))
	for _, ar := range c.runs {
		runs = append(runs, ar)
		delete(h.active, ar.run.ID)
	}
	c.runs = map[string]*activeRun{}
	h.mu.Unlock()
	ctx := context.Background()
	dones := make([]chan error, 0, len(runs))
	for _, ar := range runs {
		var apply func(ctx context.Context, st labelhub.PluginStore) error
		switch {
		case !ar.cancelAt.IsZero():
			apply = func(ctx context.Context, st labelhub.PluginStore) error {
				_, err := st.FinishRun(ctx, ar.run.ID, c.id, labelhub.RunCancelled, nil, ar.reason+"; "+reason)
				return err
			}
		case ar.run.Attempts < h.cfg.MaxAttempts && h.ctx.Err() == nil:
			h.queuedHint.Store(true)
			apply = func(ctx context.Context, st labelhub.PluginStore) error {
				_, err := st.RequeueRun(ctx, ar.run.ID, c.id, time.Now().Add(h.cfg.QueueTimeout))
				return err
			}
		case h.ctx.Err() != nil:
			// The hub itself stops: leave the run to recovery by the next
			// start or another replica.
		default:
			apply = func(ctx context.Context, st labelhub.PluginStore) error {
				_, err := st.FinishRun(ctx, ar.run.ID, c.id, labelhub.RunFailed, nil,
					fmt.Sprintf("%s during attempt %d of %d", reason, ar.run.Attempts, h.cfg.MaxAttempts))
				return err
			}
		}
		done := make(chan error, 1)
		dones = append(dones, done)
		if apply == nil {
			done <- nil
			continue
		}
		h.inOrder(ar, &write{apply: apply, done: done})
	}
	for i, ar := range runs {
		if err := <-dones[i]; err != nil {
			h.log.Error("run of a disconnected instance", "run", ar.run.ID, "err", err)
		}
		h.notify(ar.run.ID)
	}
	if h.ctx.Err() == nil {
		if err := h.store.DeleteInstance(ctx, c.id); err != nil && !errors.Is(err, context.Canceled) {
			h.log.Error("delete plugin instance", "err", err)
		}
	}
	h.log.Info("plugin disconnected", "plugin", c.plugin.ID, "instance", c.id, "reason", reason, "runs", len(runs))
	h.poke()
}
