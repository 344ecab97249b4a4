package socketio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Config configures a Server. Zero values take the defaults in brackets,
// which are those of the reference Socket.IO server.
type Config struct {
	// Namespace is the application namespace clients connect to, such as
	// "/plugin". Clients may also connect to the main namespace "/",
	// which is acknowledged and otherwise ignored.
	Namespace string
	// PingInterval is how often the server pings [25s]; PingTimeout how
	// long it waits for the pong before it drops the client [20s].
	PingInterval time.Duration
	PingTimeout  time.Duration
	// ConnectTimeout is how long a client may stay without connecting to
	// a namespace [45s].
	ConnectTimeout time.Duration
	// MaxPayload bounds one packet and one long-polling request body, in
	// bytes [1,000,000]; the client learns it in the handshake. A larger
	// message ends the client's session.
	MaxPayload int
	// MaxSessions bounds the sessions open at once [10,000]; handshakes
	// beyond it are answered 503.
	MaxSessions int
	Logger      *slog.Logger
}

// Handler serves one client connected to the application namespace. It
// runs in a goroutine of its own; when it returns, the socket is closed.
type Handler func(s *Socket)

// Server is an Engine.IO v4 / Socket.IO v5 server: an http.Handler for
// the Engine.IO path.
type Server struct {
	cfg     Config
	handler Handler
	log     *slog.Logger

	mu       sync.Mutex
	sessions map[string]*session
	closed   bool
	wg       sync.WaitGroup
}

// NewServer returns a server that hands every client of cfg.Namespace to h.
func NewServer(cfg Config, h Handler) *Server {
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 25 * time.Second
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = 20 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 45 * time.Second
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = 1_000_000
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 10_000
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "/"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{cfg: cfg, handler: h, log: cfg.Logger, sessions: map[string]*session{}}
}

// Sessions returns the number of open Engine.IO sessions.
func (srv *Server) Sessions() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.sessions)
}

// Close ends every session and waits for their handlers to return.
func (srv *Server) Close() {
	srv.mu.Lock()
	srv.closed = true
	ss := make([]*session, 0, len(srv.sessions))
	for _, s := range srv.sessions {
		ss = append(ss, s)
	}
	srv.mu.Unlock()
	for _, s := range ss {
		s.close("the server is shutting down", true)
	}
	srv.wg.Wait()
}

// Engine.IO's error codes, answered with HTTP 400 (403 for forbidden).
const (
	codeUnknownTransport = 0
	codeUnknownSID       = 1
	codeBadHandshake     = 2
	codeBadRequest       = 3
	codeForbidden        = 4
	codeUnsupported      = 5
)

func httpError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"code": code, "message": msg})
	_, _ = w.Write(b)
}

// ServeHTTP serves the Engine.IO endpoint: handshakes, long-polling GETs
// and POSTs, and WebSocket connections (new or upgrades).
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("EIO") != "4" {
		httpError(w, http.StatusBadRequest, codeUnsupported, "Unsupported protocol version: this server speaks Engine.IO 4 (Socket.IO 3 and later clients)")
		return
	}
	transport := q.Get("transport")
	if transport != "polling" && transport != "websocket" {
		httpError(w, http.StatusBadRequest, codeUnknownTransport, "Transport unknown")
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		if r.Method != http.MethodGet {
			httpError(w, http.StatusBadRequest, codeBadHandshake, "Bad handshake method")
			return
		}
		srv.handshake(w, r, transport)
		return
	}
	srv.mu.Lock()
	s := srv.sessions[sid]
	srv.mu.Unlock()
	if s == nil {
		httpError(w, http.StatusBadRequest, codeUnknownSID, "Session ID unknown")
		return
	}
	switch {
	case transport == "websocket":
		s.upgrade(w, r)
	case r.Method == http.MethodGet:
		s.poll(w, r)
	case r.Method == http.MethodPost:
		s.post(w, r)
	default:
		httpError(w, http.StatusBadRequest, codeBadRequest, "Bad request")
	}
}

func newID() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (srv *Server) handshake(w http.ResponseWriter, r *http.Request, transport string) {
	var ws *websocket.Conn
	if transport == "websocket" {
		var err error
		ws, err = websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return // Accept answered
		}
		ws.SetReadLimit(int64(srv.cfg.MaxPayload))
	}
	s := &session{srv: srv, id: newID(), remote: r.RemoteAddr, wake: make(chan struct{}, 1),
		pong: make(chan struct{}, 1), done: make(chan struct{}), sockets: map[string]*Socket{}, ws: ws}
	srv.mu.Lock()
	if srv.closed || len(srv.sessions) >= srv.cfg.MaxSessions {
		srv.mu.Unlock()
		if ws != nil {
			ws.Close(websocket.StatusTryAgainLater, "too many sessions")
			return
		}
		httpError(w, http.StatusServiceUnavailable, codeForbidden, "the server has too many sessions open")
		return
	}
	srv.sessions[s.id] = s
	srv.wg.Add(1)
	srv.mu.Unlock()

	upgrades := []string{"websocket"}
	if ws != nil {
		upgrades = []string{}
	}
	open, _ := json.Marshal(map[string]any{"sid": s.id, "upgrades": upgrades,
		"pingInterval": srv.cfg.PingInterval.Milliseconds(), "pingTimeout": srv.cfg.PingTimeout.Milliseconds(),
		"maxPayload": srv.cfg.MaxPayload})
	go s.heartbeat()
	if ws == nil {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		_, _ = w.Write(append([]byte{eioOpen}, open...))
		return
	}
	s.push(append([]byte{eioOpen}, open...))
	s.serveWebSocket(r.Context(), ws)
}

// session is one client's Engine.IO session, on either transport.
type session struct {
	srv    *Server
	id     string
	remote string

	mu        sync.Mutex
	queue     [][]byte // packets waiting for the transport
	ws        *websocket.Conn
	polling   bool // a long-polling GET is waiting
	closed    bool
	reason    string
	sockets   map[string]*Socket // by namespace
	connected bool               // ever connected to a namespace
	wake      chan struct{}      // has room for one: packets were queued
	pong      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// maxQueue bounds the packets waiting for a client that does not read.
const maxQueue = 4096

// push queues an Engine.IO packet for the client.
func (s *session) push(pkt []byte) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	if len(s.queue) >= maxQueue {
		s.mu.Unlock()
		s.close("the client does not read its messages", true)
		return false
	}
	s.queue = append(s.queue, pkt)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// take removes the packets that fit into one polling response.
func (s *session) take(limit int) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, size := 0, 0
	for n < len(s.queue) {
		size += len(s.queue[n]) + 1
		if n > 0 && size > limit {
			break
		}
		n++
	}
	out := s.queue[:n:n]
	s.queue = s.queue[n:]
	if len(s.queue) == 0 {
		s.queue = nil
	}
	return out
}

// close ends the session; notify sends the close packet first.
func (s *session) close(reason string, notify bool) {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		ws := s.ws
		s.reason = reason
		if notify && ws != nil {
			s.mu.Unlock()
			s.flushWebSocket(ws)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = ws.Write(ctx, websocket.MessageText, []byte{eioClose})
			cancel()
			s.mu.Lock()
		}
		s.closed = true
		sockets := make([]*Socket, 0, len(s.sockets))
		for _, so := range s.sockets {
			sockets = append(sockets, so)
		}
		s.mu.Unlock()
		close(s.done)
		for _, so := range sockets {
			so.end(reason)
		}
		if ws != nil {
			// The close handshake waits for the client: not on this path.
			go ws.Close(websocket.StatusNormalClosure, "")
		}
		s.srv.mu.Lock()
		delete(s.srv.sessions, s.id)
		s.srv.mu.Unlock()
		s.srv.wg.Done()
	})
}

// flushWebSocket writes what is queued, best effort, before a close.
func (s *session) flushWebSocket(ws *websocket.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, p := range s.take(1 << 62) {
		if ws.Write(ctx, websocket.MessageText, p) != nil {
			return
		}
	}
}

// heartbeat pings the client every PingInterval and ends the session when
// a pong does not come within PingTimeout; it also ends a session that
// never connected to a namespace.
func (s *session) heartbeat() {
	cfg := s.srv.cfg
	connectBy := time.NewTimer(cfg.ConnectTimeout)
	defer connectBy.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-connectBy.C:
			s.mu.Lock()
			ok := s.connected
			s.mu.Unlock()
			if !ok {
				s.close("the client connected to no namespace in time", true)
				return
			}
			continue
		case <-time.After(cfg.PingInterval):
		}
		select {
		case <-s.pong: // a stale pong
		default:
		}
		if !s.push([]byte{eioPing}) {
			return
		}
		select {
		case <-s.done:
			return
		case <-s.pong:
		case <-time.After(cfg.PingTimeout):
			s.close("ping timeout: the client did not answer for "+cfg.PingTimeout.String(), false)
			return
		}
	}
}

// poll is a long-polling GET: it answers with the queued packets, waiting
// for some if there are none.
func (s *session) poll(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		httpError(w, http.StatusBadRequest, codeUnknownSID, "Session ID unknown")
		return
	case s.ws != nil:
		s.mu.Unlock()
		httpError(w, http.StatusBadRequest, codeBadRequest, "the session was upgraded to WebSocket")
		return
	case s.polling:
		s.mu.Unlock()
		s.close("the client sent two polling requests at once", false)
		httpError(w, http.StatusBadRequest, codeBadRequest, "overlapping polling requests")
		return
	}
	s.polling = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.polling = false
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	for {
		if pkts := s.take(s.srv.cfg.MaxPayload); len(pkts) > 0 {
			_, _ = w.Write(joinPayload(pkts))
			return
		}
		select {
		case <-s.wake:
		case <-s.done:
			_, _ = w.Write([]byte{eioClose})
			return
		case <-r.Context().Done():
			return
		}
	}
}

func joinPayload(pkts [][]byte) []byte {
	n := 0
	for _, p := range pkts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for i, p := range pkts {
		if i > 0 {
			b = append(b, recordSeparator)
		}
		b = append(b, p...)
	}
	return b
}

// post is a long-polling POST: packets from the client.
func (s *session) post(w http.ResponseWriter, r *http.Request) {
	limit := int64(s.srv.cfg.MaxPayload)
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		s.close("transport error: "+err.Error(), false)
		httpError(w, http.StatusBadRequest, codeBadRequest, "could not read the body")
		return
	}
	if int64(len(body)) > limit {
		reason := fmt.Sprintf("the client sent more than the limit of %d bytes in one request", limit)
		s.close(reason, true)
		httpError(w, http.StatusRequestEntityTooLarge, codeBadRequest, reason)
		return
	}
	for len(body) > 0 {
		var pkt []byte
		pkt, body, _ = cutByte(body, recordSeparator)
		if err := s.receive(pkt); err != nil {
			s.close(err.Error(), true)
			httpError(w, http.StatusBadRequest, codeBadRequest, err.Error())
			return
		}
	}
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte("ok"))
}

func cutByte(b []byte, sep byte) (before, after []byte, found bool) {
	for i, c := range b {
		if c == sep {
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}

// upgrade takes a polling session to WebSocket: 2probe, 3probe, then 5.
func (s *session) upgrade(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	already := s.ws != nil
	s.mu.Unlock()
	if already {
		httpError(w, http.StatusBadRequest, codeBadRequest, "the session is on WebSocket already")
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	ws.SetReadLimit(int64(s.srv.cfg.MaxPayload))
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	for {
		typ, b, err := ws.Read(ctx)
		if err != nil || typ != websocket.MessageText {
			ws.Close(websocket.StatusPolicyViolation, "the upgrade did not complete")
			return
		}
		switch {
		case string(b) == "2probe":
			if ws.Write(ctx, websocket.MessageText, []byte("3probe")) != nil {
				return
			}
			// A waiting poll returns, so that the client can pause it.
			s.push([]byte{eioNoop})
			continue
		case string(b) == "5":
		default:
			ws.Close(websocket.StatusPolicyViolation, "expected the upgrade packet")
			return
		}
		break
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close(websocket.StatusNormalClosure, "")
		return
	}
	s.ws = ws
	// Packets queued for polling now go over the socket; the noop that
	// released the poll is of no use there.
	q := s.queue[:0]
	for _, p := range s.queue {
		if len(p) != 1 || p[0] != eioNoop {
			q = append(q, p)
		}
	}
	s.queue = q
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.serveWebSocket(r.Context(), ws)
}

// serveWebSocket reads the client's packets until the session ends, with
// a writer goroutine sending what is queued.
func (s *session) serveWebSocket(ctx context.Context, ws *websocket.Conn) {
	go func() {
		wctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-s.done
			cancel()
		}()
		for {
			for _, p := range s.take(1 << 62) {
				if err := ws.Write(wctx, websocket.MessageText, p); err != nil {
					s.close("transport error: "+err.Error(), false)
					return
				}
			}
			select {
			case <-s.wake:
			case <-s.done:
				return
			}
		}
	}()
	for {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			reason := "the client disconnected"
			var ce websocket.CloseError
			switch {
			case errors.As(err, &ce) && ce.Code == websocket.StatusMessageTooBig,
				websocket.CloseStatus(err) == websocket.StatusMessageTooBig || containsReadLimit(err):
				reason = fmt.Sprintf("the client sent a message larger than the limit of %d bytes", s.srv.cfg.MaxPayload)
			case ctx.Err() != nil:
				reason = "the server is shutting down"
			}
			s.close(reason, false)
			return
		}
		if typ != websocket.MessageText {
			s.close("the client sent a binary packet, which this server does not take", true)
			return
		}
		if err := s.receive(b); err != nil {
			s.close(err.Error(), true)
			return
		}
		select {
		case <-s.done:
			return
		default:
		}
	}
}

func containsReadLimit(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "read limited") || strings.Contains(msg, "message too big")
}

// receive handles one Engine.IO packet from the client. An error ends
// the session.
func (s *session) receive(pkt []byte) error {
	if len(pkt) == 0 {
		return errors.New("empty packet")
	}
	switch pkt[0] {
	case eioPing: // a client's own ping (probe or Engine.IO 3 habit)
		s.push(append([]byte{eioPong}, pkt[1:]...))
	case eioPong:
		select {
		case s.pong <- struct{}{}:
		default:
		}
	case eioMessage:
		return s.message(pkt[1:])
	case eioClose:
		s.close("the client disconnected", false)
	case eioNoop, eioUpgrade:
	case 'b':
		return errBinary
	default:
		return fmt.Errorf("unknown Engine.IO packet type %q", pkt[0])
	}
	return nil
}

// message handles one Socket.IO packet.
func (s *session) message(b []byte) error {
	p, err := decodePacket(b)
	if err != nil {
		return fmt.Errorf("malformed Socket.IO packet: %w", err)
	}
	s.mu.Lock()
	so := s.sockets[p.namespace]
	s.mu.Unlock()
	switch p.typ {
	case sioConnect:
		if p.namespace != "/" && p.namespace != s.srv.cfg.Namespace {
			s.push(encodePacket(sioConnectError, p.namespace, -1, []byte(`{"message":"Invalid namespace"}`)))
			return nil
		}
		if so != nil {
			return nil // connected already
		}
		so = &Socket{ID: newID(), Namespace: p.namespace, sess: s, inbox: make(chan Event, 64), done: make(chan struct{})}
		s.mu.Lock()
		s.sockets[p.namespace] = so
		s.connected = true
		s.mu.Unlock()
		ack, _ := json.Marshal(map[string]string{"sid": so.ID})
		s.push(encodePacket(sioConnect, p.namespace, -1, ack))
		if p.namespace == s.srv.cfg.Namespace && s.srv.handler != nil {
			s.srv.wg.Add(1)
			go func() {
				defer s.srv.wg.Done()
				defer so.Close()
				s.srv.handler(so)
			}()
		}
	case sioDisconnect:
		if so != nil {
			s.forget(so)
			so.end("the client disconnected")
		}
	case sioEvent:
		if so == nil {
			return nil // not connected to that namespace: ignored
		}
		ev, err := decodeEvent(p)
		if err != nil {
			return fmt.Errorf("malformed Socket.IO event: %w", err)
		}
		if p.namespace != s.srv.cfg.Namespace {
			return nil
		}
		select {
		case so.inbox <- ev:
		case <-so.done:
		case <-s.done:
		}
	case sioAck, sioConnectError:
		// The server asks for no acknowledgements; clients send no errors.
	}
	return nil
}

func (s *session) forget(so *Socket) {
	s.mu.Lock()
	if s.sockets[so.Namespace] == so {
		delete(s.sockets, so.Namespace)
	}
	s.mu.Unlock()
}

// Socket is one client's connection to the application namespace.
type Socket struct {
	ID        string
	Namespace string
	sess      *session

	inbox   chan Event
	done    chan struct{}
	endOnce sync.Once
	mu      sync.Mutex
	reason  string
}

// ErrClosed is returned by Read and Emit on a socket that ended.
var ErrClosed = errors.New("socketio: the socket is closed")

// RemoteAddr is the client's address as the HTTP server saw it.
func (so *Socket) RemoteAddr() string { return so.sess.remote }

// Transport is "polling" or "websocket".
func (so *Socket) Transport() string {
	so.sess.mu.Lock()
	defer so.sess.mu.Unlock()
	if so.sess.ws != nil {
		return "websocket"
	}
	return "polling"
}

// Done is closed when the socket ends.
func (so *Socket) Done() <-chan struct{} { return so.done }

// Reason says why the socket ended ("" while it has not).
func (so *Socket) Reason() string {
	so.mu.Lock()
	defer so.mu.Unlock()
	return so.reason
}

func (so *Socket) end(reason string) {
	so.endOnce.Do(func() {
		so.mu.Lock()
		so.reason = reason
		so.mu.Unlock()
		close(so.done)
	})
}

// Read returns the client's next event; ErrClosed once the socket ended.
func (so *Socket) Read(ctx context.Context) (Event, error) {
	select {
	case ev := <-so.inbox:
		return ev, nil
	default:
	}
	select {
	case ev := <-so.inbox:
		return ev, nil
	case <-so.done:
		return Event{}, ErrClosed
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

// Emit sends an event with the given arguments, each encoded as JSON (a
// json.RawMessage is sent as it is). It fails when the socket ended or
// the packet is larger than the limit.
func (so *Socket) Emit(event string, args ...any) error {
	parts := make([]any, 0, 1+len(args))
	parts = append(parts, event)
	parts = append(parts, args...)
	data, err := json.Marshal(parts)
	if err != nil {
		return err
	}
	return so.send(encodePacket(sioEvent, so.Namespace, -1, data))
}

func (so *Socket) send(pkt []byte) error {
	if len(pkt) > so.sess.srv.cfg.MaxPayload {
		return fmt.Errorf("socketio: a packet of %d bytes is larger than the limit of %d", len(pkt), so.sess.srv.cfg.MaxPayload)
	}
	select {
	case <-so.done:
		return ErrClosed
	default:
	}
	if !so.sess.push(pkt) {
		return ErrClosed
	}
	return nil
}

// Refuse sends a connect error for the namespace with the message: the
// client then counts the namespace as not connected (python-socketio
// calls connect_error and drops it). The socket ends; the session stays.
func (so *Socket) Refuse(message string) {
	data, _ := json.Marshal(map[string]string{"message": message})
	so.sess.push(encodePacket(sioConnectError, so.Namespace, -1, data))
	so.sess.forget(so)
	so.end("refused: " + message)
}

// Close disconnects the client from the namespace (it sees a disconnect)
// and ends the socket.
func (so *Socket) Close() {
	select {
	case <-so.done:
		return
	default:
	}
	so.sess.push(encodePacket(sioDisconnect, so.Namespace, -1, nil))
	so.sess.forget(so)
	so.end("the server closed the socket")
}

// CloseSession ends the client's whole Engine.IO session, as a dropped
// connection would.
func (so *Socket) CloseSession(reason string) {
	so.sess.close(reason, true)
}
