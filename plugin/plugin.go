package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/labelhub/labelhub/pluginproto"
)

// Version is the SDK version sent to the hub.
const Version = "0.1.0"

// Config tells a plugin where its hub is and who it is.
type Config struct {
	// Host is the hub's base URL, e.g. http://127.0.0.1:8080
	// [LABELHUB_SERVER].
	Host string
	// ID and Secret are the plugin's, from `labelhub plugin create`
	// [LABELHUB_PLUGIN_ID, LABELHUB_PLUGIN_SECRET].
	ID, Secret string
	// Concurrency is how many runs this process takes at once [1].
	Concurrency int
	// Logger receives the SDK's own messages (connects, retries) [slog.Default()].
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between reconnects [100ms, 30s].
	MinBackoff, MaxBackoff time.Duration
	// HostName is reported to the hub [os.Hostname()].
	HostName string
}

func (c *Config) fill() error {
	env := func(s *string, name string) {
		if *s == "" {
			*s = os.Getenv(name)
		}
	}
	env(&c.Host, "LABELHUB_SERVER")
	env(&c.ID, "LABELHUB_PLUGIN_ID")
	env(&c.Secret, "LABELHUB_PLUGIN_SECRET")
	var missing []string
	if c.Host == "" {
		missing = append(missing, "Host (LABELHUB_SERVER)")
	}
	if c.ID == "" {
		missing = append(missing, "ID (LABELHUB_PLUGIN_ID)")
	}
	if c.Secret == "" {
		missing = append(missing, "Secret (LABELHUB_PLUGIN_SECRET)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("plugin: missing %s", strings.Join(missing, ", "))
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.HostName == "" {
		c.HostName, _ = os.Hostname()
	}
	return nil
}

// connectURL turns the hub's base URL into the connect endpoint's.
func connectURL(host string) (string, error) {
	u, err := url.Parse(strings.TrimRight(host, "/"))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("plugin: Host %q is not a URL like http://127.0.0.1:8080", host)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("plugin: Host %q must start with http:// or https://", host)
	}
	u.Path += "/api/v1/plugins/connect"
	return u.String(), nil
}

// AuthError is returned by Run when the hub refuses the plugin's id and
// secret (or the secret was rotated): retrying cannot help.
type AuthError struct{ Reason string }

func (e *AuthError) Error() string { return "plugin: the hub refused the connection: " + e.Reason }

// Run connects to the hub and serves runs with h until ctx ends (it then
// returns nil) or the hub refuses the credentials (an *AuthError). Lost
// connections are retried with exponential backoff and jitter.
func Run(ctx context.Context, cfg Config, h Handler) error {
	if err := cfg.fill(); err != nil {
		return err
	}
	target, err := connectURL(cfg.Host)
	if err != nil {
		return err
	}
	backoff := cfg.MinBackoff
	for {
		welcomed, err := session(ctx, &cfg, target, h)
		if ctx.Err() != nil {
			return nil
		}
		var ae *AuthError
		if errors.As(err, &ae) {
			cfg.Logger.Error("plugin refused by the hub", "reason", ae.Reason)
			return err
		}
		if welcomed {
			backoff = cfg.MinBackoff
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		cfg.Logger.Warn("plugin connection lost; reconnecting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, cfg.MaxBackoff)
	}
}

// session is one connection's life; welcomed reports whether the hub
// accepted it.
func session(ctx context.Context, cfg *Config, target string, h Handler) (welcomed bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ws, _, err := websocket.Dial(dctx, target, nil)
	cancel()
	if err != nil {
		return false, err
	}
	defer ws.CloseNow()
	ws.SetReadLimit(pluginproto.DefaultMaxMessageBytes)
	s := &sess{cfg: cfg, ws: ws, h: h, runs: map[string]context.CancelFunc{}, maxBytes: pluginproto.DefaultMaxMessageBytes}
	if err := s.send(ctx, &pluginproto.Message{Type: pluginproto.TypeHello, PluginID: cfg.ID, Secret: cfg.Secret,
		SDKVersion: Version, Host: cfg.HostName, Concurrency: cfg.Concurrency}); err != nil {
		return false, err
	}
	m, err := s.read(ctx)
	if err != nil {
		return false, s.closeErr(err)
	}
	if m.Type != pluginproto.TypeWelcome {
		return false, fmt.Errorf("plugin: expected welcome, got %s", m.Type)
	}
	if m.MaxMessageBytes > 0 {
		s.maxBytes = m.MaxMessageBytes
	}
	s.maxLogLines = m.MaxLogLines
	beat := time.Duration(m.HeartbeatMillis) * time.Millisecond
	if beat <= 0 {
		beat = 10 * time.Second
	}
	cfg.Logger.Info("plugin connected", "instance", m.InstanceID, "type", m.PluginType)

	sctx, stop := context.WithCancel(ctx)
	defer stop()
	s.seen.Store(time.Now().UnixNano())
	go s.heartbeat(sctx, ws, beat)
	// Handlers still running when the session ends get their context
	// cancelled; they are not waited for (one that ignores its context
	// must not keep the plugin from reconnecting), and their results are
	// dropped: the hub assigns those runs again.
	defer stop()
	for {
		m, err := s.read(sctx)
		if err != nil {
			if ctx.Err() != nil {
				s.goodbye("the plugin is stopping")
			}
			return true, s.closeErr(err)
		}
		s.seen.Store(time.Now().UnixNano())
		switch m.Type {
		case pluginproto.TypeAssign:
			s.start(sctx, m)
		case pluginproto.TypeCancel:
			s.mu.Lock()
			if c := s.runs[m.ID]; c != nil {
				c()
			}
			s.mu.Unlock()
		case pluginproto.TypeGoodbye:
			s.goodbyeReason = m.Reason
		}
	}
}

type sess struct {
	cfg           *Config
	ws            *websocket.Conn
	h             Handler
	maxBytes      int
	maxLogLines   int
	seen          atomic.Int64
	goodbyeReason string
	mu            sync.Mutex
	runs          map[string]context.CancelFunc
}

func (s *sess) send(ctx context.Context, m *pluginproto.Message) error {
	b, err := pluginproto.Encode(m, s.maxBytes)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return s.ws.Write(wctx, websocket.MessageText, b)
}

func (s *sess) read(ctx context.Context) (*pluginproto.Message, error) {
	_, b, err := s.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	return pluginproto.Decode(b, s.maxBytes)
}

func (s *sess) goodbye(reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	b, _ := pluginproto.Encode(&pluginproto.Message{Type: pluginproto.TypeGoodbye, Reason: reason}, 0)
	_ = s.ws.Write(ctx, websocket.MessageText, b)
	_ = s.ws.Close(websocket.StatusNormalClosure, reason)
}

// closeErr turns the hub's refusal codes into an *AuthError.
func (s *sess) closeErr(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) && (ce.Code == 4001 || ce.Code == 4002) {
		return &AuthError{Reason: ce.Reason}
	}
	return err
}

func (s *sess) heartbeat(ctx context.Context, ws *websocket.Conn, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, s.seen.Load())) > 3*every {
			ws.Close(websocket.StatusGoingAway, "no heartbeat from the hub")
			return
		}
		_ = s.send(ctx, &pluginproto.Message{Type: pluginproto.TypeHeartbeat})
	}
}

// start runs one assigned run in its own goroutine.
func (s *sess) start(ctx context.Context, m *pluginproto.Message) {
	rctx, cancel := context.WithCancel(ctx)
	if !m.Run.Deadline.IsZero() {
		rctx, cancel = context.WithDeadline(ctx, m.Run.Deadline)
	}
	s.mu.Lock()
	s.runs[m.ID] = cancel
	s.mu.Unlock()
	go func() {
		defer func() {
			s.mu.Lock()
			delete(s.runs, m.ID)
			s.mu.Unlock()
			cancel()
		}()
		_ = s.send(ctx, &pluginproto.Message{Type: pluginproto.TypeAccept, ID: m.ID})
		req := newRequest(s, ctx, m)
		res, err := serveSafely(rctx, s.h, req)
		if err == nil {
			var b []byte
			if b, err = json.Marshal(res); err == nil {
				if err = s.send(ctx, &pluginproto.Message{Type: pluginproto.TypeResult, ID: m.ID, Result: b}); err == nil {
					return
				}
				if errors.Is(err, pluginproto.ErrTooLarge) {
					err = fmt.Errorf("the result is too large for the socket (%d bytes, limit %d); upload large outputs over HTTP", len(b), s.maxBytes)
				}
			}
		}
		if ctx.Err() != nil {
			return // the connection is gone; the hub reassigns the run
		}
		_ = s.send(ctx, &pluginproto.Message{Type: pluginproto.TypeError, ID: m.ID, Error: err.Error()})
	}()
}

// serveSafely calls the handler, turning a panic into an error.
func serveSafely(ctx context.Context, h Handler, r *Request) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the plugin panicked: %v", p)
		}
	}()
	return h.ServeRun(ctx, r)
}
