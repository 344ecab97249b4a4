package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labelhub/labelhub/pluginproto"
)

// Request is one run as the handler sees it: the fields of formats.md §4
// common to every plugin type, a logger and a progress reporter.
type Request struct {
	Session    string // the run id
	PluginID   string
	PluginType string
	ProjectID  string
	OrgID      string
	RunBy      string // the user who started the run
	// ConfigJSON is the user's Config JSON text; DecodeConfig parses it.
	ConfigJSON string
	Batches    []string
	// APIKey is a token for the hub's REST API, limited to this run's
	// project and ending with the run. It is never the user's key.
	APIKey string
	// Host is the hub's base URL, for REST calls with APIKey.
	Host     string
	Attempt  int
	Deadline time.Time
	// Params holds the plugin type's fields as a JSON object.
	Params json.RawMessage
	// Log's records stream to the hub and show in the run's log.
	Log *slog.Logger

	s   *sess
	ctx context.Context
	// uploaded is set once a result file was uploaded.
	uploaded atomic.Bool
}

func newRequest(s *sess, ctx context.Context, m *pluginproto.Message) *Request {
	r := m.Run
	req := &Request{Session: m.ID, PluginID: r.PluginID, PluginType: r.PluginType, ProjectID: r.ProjectID, OrgID: r.OrgID, RunBy: r.RunBy,
		ConfigJSON: r.ConfigJSON, Batches: r.Batches, APIKey: r.APIKey, Host: s.cfg.Host, Attempt: r.Attempt, Deadline: r.Deadline,
		Params: r.Params, s: s, ctx: ctx}
	req.Log = slog.New(&logHandler{st: &logState{s: s, ctx: ctx, run: m.ID, max: s.maxLogLines}, level: slog.LevelDebug})
	return req
}

// DecodeConfig parses ConfigJSON into v; unknown fields are an error. An
// empty ConfigJSON leaves v as it is.
func (r *Request) DecodeConfig(v any) error {
	if r.ConfigJSON == "" {
		return nil
	}
	if err := strictUnmarshal([]byte(r.ConfigJSON), v); err != nil {
		return fmt.Errorf("the Config JSON: %w", err)
	}
	return nil
}

// Progress reports how far the run is; the hub shows the latest report.
func (r *Request) Progress(done, total int64, message string) {
	_ = r.s.send(r.ctx, &pluginproto.Message{Type: pluginproto.TypeProgress, ID: r.Session, Done: &done, Total: &total, Msg: truncate(message, pluginproto.MaxTextBytes)})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// logState is shared by a run's logger and its derived loggers.
type logState struct {
	s     *sess
	ctx   context.Context
	run   string
	max   int
	mu    sync.Mutex
	lines int
}

// logHandler sends records as run.log messages. Past the hub's cap the
// records are dropped here already (the hub notes the truncation).
type logHandler struct {
	st     *logState
	level  slog.Level
	attrs  []slog.Attr
	groups []string
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logHandler) Handle(_ context.Context, rec slog.Record) error {
	h.st.mu.Lock()
	h.st.lines++
	over := h.st.max > 0 && h.st.lines > h.st.max+1
	h.st.mu.Unlock()
	if over {
		return nil
	}
	obj := map[string]any{}
	cur := obj
	for _, a := range h.attrs {
		putAttr(obj, a)
	}
	for _, g := range h.groups {
		m := map[string]any{}
		cur[g] = m
		cur = m
	}
	rec.Attrs(func(a slog.Attr) bool {
		putAttr(cur, a)
		return true
	})
	var attrs json.RawMessage
	if len(obj) > 0 {
		b, err := json.Marshal(obj)
		if err != nil {
			b, _ = json.Marshal(map[string]string{"attrs": fmt.Sprint(obj)})
		}
		attrs = b
	}
	t := rec.Time
	if t.IsZero() {
		t = time.Now()
	}
	t = t.UTC()
	lvl := pluginproto.LevelInfo
	switch {
	case rec.Level >= slog.LevelError:
		lvl = pluginproto.LevelError
	case rec.Level >= slog.LevelWarn:
		lvl = pluginproto.LevelWarn
	case rec.Level < slog.LevelInfo:
		lvl = pluginproto.LevelDebug
	}
	return h.st.s.send(h.st.ctx, &pluginproto.Message{Type: pluginproto.TypeLog, ID: h.st.run, Time: &t, Level: lvl,
		Msg: truncate(rec.Message, pluginproto.MaxLogMessageBytes), Attrs: attrs})
}

func putAttr(m map[string]any, a slog.Attr) {
	v := a.Value.Resolve()
	if a.Key == "" && v.Kind() != slog.KindGroup {
		return
	}
	switch v.Kind() {
	case slog.KindGroup:
		sub := m
		if a.Key != "" {
			sub = map[string]any{}
			m[a.Key] = sub
		}
		for _, g := range v.Group() {
			putAttr(sub, g)
		}
	default:
		x := v.Any()
		switch t := x.(type) {
		case error:
			x = t.Error()
		case time.Duration:
			x = t.String()
		case fmt.Stringer:
			x = t.String()
		}
		m[a.Key] = x
	}
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	if len(h.groups) > 0 {
		// Attributes inside groups: nest them now.
		g := slog.Group(h.groups[len(h.groups)-1], anySlice(as)...)
		for i := len(h.groups) - 2; i >= 0; i-- {
			g = slog.Group(h.groups[i], g)
		}
		c.attrs = append(slices.Clip(h.attrs), g)
		return &c
	}
	c.attrs = append(slices.Clip(h.attrs), as...)
	return &c
}

func anySlice(as []slog.Attr) []any {
	out := make([]any, len(as))
	for i, a := range as {
		out[i] = a
	}
	return out
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.groups = append(slices.Clip(h.groups), name)
	return &c
}
