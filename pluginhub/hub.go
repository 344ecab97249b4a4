package pluginhub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/pluginproto"
	"github.com/labelhub/labelhub/socketio"
)

// Close codes the hub uses beyond the standard ones; the SDK prints the
// reason that comes with them.
const (
	CloseAuthFailed    = 4001 // wrong plugin id or secret: do not retry
	CloseSecretRotated = 4002 // the secret was rotated: do not retry with it
)

// DefaultMaxQueuedRuns is the default of Config.MaxQueuedRuns.
const DefaultMaxQueuedRuns = 10_000

// Config configures a Hub. Zero values take the defaults in brackets.
type Config struct {
	Store  labelhub.PluginStore
	Logger *slog.Logger
	// ReplicaID names this hub process in the instance registry [random].
	ReplicaID string
	// NewToken makes a run token (sqlstore.NewRunToken).
	NewToken func() string
	// Heartbeat is the interval of heartbeats both ways; a peer silent for
	// three intervals is gone [10s].
	Heartbeat time.Duration
	// QueueTimeout is how long a run waits for an instance [5m].
	QueueTimeout time.Duration
	// RunTimeout is how long a run may run [1h].
	RunTimeout time.Duration
	// CancelGrace is how long a cancelled run may take to stop [10s].
	CancelGrace time.Duration
	// MaxAttempts bounds how often a run is assigned [3].
	MaxAttempts int
	// MaxMessageBytes bounds one protocol message [1 MiB].
	MaxMessageBytes int
	// MaxLogLines bounds the log records kept per run [10,000].
	MaxLogLines int
	// MaxQueuedRuns bounds the queued runs of one plugin in one
	// organisation, on all replicas; CreateRun refuses one more with
	// ECodeRateLimited (--plugin-max-queued-runs)
	// [DefaultMaxQueuedRuns; negative: no limit].
	MaxQueuedRuns int
	// PollInterval is how often the hub looks at the database for work
	// from other replicas and for deadlines [250ms].
	PollInterval time.Duration
	// HelloTimeout bounds the wait for a new connection's hello (or a
	// Socket.IO client's first heartbeat) [10s].
	HelloTimeout time.Duration
	// SocketIOConcurrency is how many runs an instance connected with
	// the Python SDK is given at once [DefaultSocketIOConcurrency].
	SocketIOConcurrency int
	// SocketIOPingInterval and SocketIOPingTimeout are Engine.IO's
	// heartbeat [25s, 20s]: a Socket.IO client that does not answer a ping
	// within the timeout is gone.
	SocketIOPingInterval time.Duration
	SocketIOPingTimeout  time.Duration
}

// Hub is the plugin hub. ServeHTTP is the connect endpoint.
type Hub struct {
	cfg   Config
	log   *slog.Logger
	store labelhub.PluginStore
	sio   *socketio.Server // the Python SDK's endpoint (python.go)

	mu       sync.Mutex
	conns    map[string]*conn          // by instance id
	byPlugin map[string]map[*conn]bool // plugin id → its local connections
	active   map[string]*activeRun     // runs held by local connections
	changed  map[string]chan struct{}  // closed when a run changes here
	finals   map[string]finalRun       // runs that ended here moments ago
	ending   map[string]labelhub.Run   // runs whose end is being committed, as stored before
	ended    []string                  // ids in finals, oldest first
	kick     chan struct{}
	// queuedHint says the database may hold queued runs for local
	// instances, so that a freed slot should look for them at once.
	queuedHint atomic.Bool

	// The writer (writer.go): next holds the follow-ups (under nmu),
	// nextKick tells the writer of new ones.
	writes   chan *write
	nmu      sync.Mutex
	next     []*write
	nextKick chan struct{}
	wmu      sync.RWMutex
	wclosed  bool
	wwg      sync.WaitGroup
	slots    int // batches committing at once (writeLoop)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// finalRun is a run as stored when it ended on this replica, kept briefly
// for Wait so that a waiter need not read it back.
type finalRun struct {
	run labelhub.Run
	at  time.Time
}

// localPolls is how many poll intervals a waiter for a run held here
// goes without reading the database.
const localPolls = 8

// Ended runs are kept for their waiters for finalTTL, up to maxFinals
// runs of at most maxFinalBytes of params, config, result and error each.
const (
	finalTTL      = 2 * time.Second
	maxFinals     = 50_000
	maxFinalBytes = 8 << 10
)

type activeRun struct {
	run       labelhub.Run // as stored, kept current by this replica
	conn      *conn
	logSeq    int64
	logLines  int
	truncated bool
	cancelAt  time.Time // when run.cancel was sent
	reason    string
	// pending counts the run's log and progress writes queued and not yet
	// committed (they are queued without waiting); parked holds the
	// writes that end the run until they have (inOrder). Under h.mu.
	pending int
	parked  []*write
}

// New starts a hub; Close stops it.
func New(cfg Config) *Hub {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ReplicaID == "" {
		cfg.ReplicaID = labelhub.NewID()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Heartbeat, 10*time.Second)
	def(&cfg.QueueTimeout, 5*time.Minute)
	def(&cfg.RunTimeout, time.Hour)
	def(&cfg.CancelGrace, 10*time.Second)
	def(&cfg.PollInterval, 250*time.Millisecond)
	def(&cfg.HelloTimeout, 10*time.Second)
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = pluginproto.DefaultMaxMessageBytes
	}
	if cfg.MaxLogLines <= 0 {
		cfg.MaxLogLines = pluginproto.DefaultMaxLogLines
	}
	if cfg.MaxQueuedRuns == 0 {
		cfg.MaxQueuedRuns = DefaultMaxQueuedRuns
	}
	h := &Hub{cfg: cfg, log: cfg.Logger, store: cfg.Store, conns: map[string]*conn{}, byPlugin: map[string]map[*conn]bool{},
		active: map[string]*activeRun{}, changed: map[string]chan struct{}{}, finals: map[string]finalRun{}, ending: map[string]labelhub.Run{}, kick: make(chan struct{}, 1),
		writes: make(chan *write, 4*maxBatch), nextKick: make(chan struct{}, 1)}
	if cfg.SocketIOConcurrency <= 0 {
		cfg.SocketIOConcurrency = DefaultSocketIOConcurrency
	}
	h.cfg = cfg
	h.slots = 1
	if cb, ok := cfg.Store.(concurrentBatcher); ok {
		h.slots = max(1, cb.ConcurrentBatches())
	}
	h.sio = socketio.NewServer(socketio.Config{Namespace: SocketIONamespace, PingInterval: cfg.SocketIOPingInterval,
		PingTimeout: cfg.SocketIOPingTimeout, MaxPayload: cfg.MaxMessageBytes, Logger: cfg.Logger}, h.serveSocketIO)
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.wwg.Add(1)
	go h.writeLoop()
	h.wg.Add(1)
	go h.loop()
	return h
}

// Close disconnects every plugin (their runs go back to the queue for
// another replica or the next start), commits the writes queued so far
// and stops the hub.
func (h *Hub) Close() {
	h.cancel()
	h.mu.Lock()
	conns := make([]*conn, 0, len(h.conns))
	for _, c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		if c.py == nil {
			c.ws.Close(websocket.StatusGoingAway, "the hub is shutting down")
		}
	}
	h.sio.Close()
	h.wg.Wait()
	h.wmu.Lock()
	if !h.wclosed {
		h.wclosed = true
		close(h.writes)
	}
	h.wmu.Unlock()
	h.wwg.Wait()
}

// Config returns the configuration in effect, defaults filled in.
func (h *Hub) Config() Config { return h.cfg }

func (h *Hub) poke() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// notify wakes whoever waits for a change of the run on this replica.
func (h *Hub) notify(runID string) { h.settle(runID, nil) }

// settle is notify for a run that ended as final (stored so): waiters find
// it in memory. Either way the run's end is no longer pending here.
func (h *Hub) settle(runID string, final *labelhub.Run) {
	h.mu.Lock()
	delete(h.ending, runID)
	if final != nil && len(h.finals) < maxFinals &&
		len(final.Params)+len(final.ConfigJSON)+len(final.Result)+len(final.Error) <= maxFinalBytes {
		// Kept even without a waiter yet: the caller of CreateRun
		// usually waits right after, and a fast run may be over by then.
		h.finals[runID] = finalRun{run: *final, at: time.Now()}
		h.ended = append(h.ended, runID)
	}
	if ch, ok := h.changed[runID]; ok {
		close(ch)
		delete(h.changed, runID)
	}
	h.mu.Unlock()
}

// local returns the run as this replica knows it: held by a local
// instance, ending (as stored until its end commits), or ended here
// moments ago.
func (h *Hub) local(orgID, runID string) (labelhub.Run, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ar := h.active[runID]; ar != nil && ar.run.OrgID == orgID {
		return ar.run, true
	}
	if r, ok := h.ending[runID]; ok && r.OrgID == orgID {
		return r, true
	}
	if f, ok := h.finals[runID]; ok && f.run.OrgID == orgID {
		return f.run, true
	}
	return labelhub.Run{}, false
}

// pruneFinals forgets ended runs nobody came for.
func (h *Hub) pruneFinals() {
	h.mu.Lock()
	n := 0
	for _, id := range h.ended {
		f, ok := h.finals[id]
		if ok && time.Since(f.at) <= finalTTL {
			break
		}
		if ok {
			delete(h.finals, id)
		}
		n++
	}
	h.ended = h.ended[n:]
	if len(h.ended) == 0 {
		h.ended = nil // let the old array go
	}
	h.mu.Unlock()
}

// Changed returns a channel closed at the next change of the run that
// this replica sees (a log record, progress, the end). Changes made on
// other replicas are not signalled: waiters also poll.
func (h *Hub) Changed(runID string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.changed[runID]
	if !ok {
		ch = make(chan struct{})
		h.changed[runID] = ch
	}
	return ch
}

// PollInterval is how often waiters should look at the database.
func (h *Hub) PollInterval() time.Duration { return h.cfg.PollInterval }

// CreateRun starts a run of a plugin for the actor and dispatches it at
// once when a local instance has room: then the run is stored as running
// on that instance in the first place (one write instead of two). It
// returns once the run is committed, so a run it returned survives a
// crash of the hub (recovery queues it again).
func (h *Hub) CreateRun(ctx context.Context, a labelhub.Actor, pluginID string, in labelhub.RunInput) (labelhub.Run, error) {
	if !labelhub.ValidID(pluginID) {
		return labelhub.Run{}, labelhub.NotFound("plugin")
	}
	if err := in.Validate(); err != nil {
		return labelhub.Run{}, err
	}
	if !a.InProject(in.ProjectID) {
		return labelhub.Run{}, labelhub.NotFound("project")
	}
	t := time.Now().UTC().Truncate(time.Microsecond)
	r := labelhub.Run{ID: labelhub.NewID(), OrgID: a.Org.ID, PluginID: pluginID, ProjectID: in.ProjectID, State: labelhub.RunQueued,
		Params: in.Params, RunBy: a.User.ID, CreatedAt: t, UpdatedAt: t, Deadline: t.Add(h.cfg.QueueTimeout)}
	if len(r.Params) == 0 || string(r.Params) == "null" {
		r.Params = json.RawMessage(`{}`)
	}
	token := h.cfg.NewToken()
	// A slot is reserved before the plugin is looked up, so that both the
	// lookup and the insert go in one batch; only connections of that very
	// plugin id have slots, and a lookup that fails frees it.
	c := h.freeConn(pluginID)
	count, err := h.exportParams(ctx, a, pluginID, c, &r)
	if err != nil {
		if c != nil {
			h.mu.Lock()
			c.reserved--
			h.mu.Unlock()
		}
		return labelhub.Run{}, err
	}
	if c != nil {
		r.State, r.InstanceID, r.Attempts, r.StartedAt = labelhub.RunRunning, c.id, 1, &t
		r.Deadline = t.Add(h.cfg.RunTimeout).Truncate(time.Microsecond)
	}
	err = h.write(func(ctx context.Context, st labelhub.PluginStore) error {
		// One store call, the write's last, in either case below.
		lst := lastCall(st)
		if count != nil {
			ec, ok := lst.(exportRunCreator)
			if !ok {
				return errors.New("the store cannot count the tasks of an export run")
			}
			cfg, params, err := ec.CreateExportRun(ctx, r, *count, in.ConfigJSON, token, max(h.cfg.MaxQueuedRuns, 0))
			r.ConfigJSON = cfg
			if err == nil {
				r.Params = params
			}
			return err
		}
		if pc, ok := lst.(pluginRunCreator); ok {
			cfg, err := pc.CreatePluginRun(ctx, r, in.ConfigJSON, token, max(h.cfg.MaxQueuedRuns, 0))
			r.ConfigJSON = cfg
			return err
		}
		p, err := st.GetPlugin(ctx, a.Org.ID, pluginID)
		if err != nil {
			return err
		}
		r.ConfigJSON = p.DefaultConfig
		if in.ConfigJSON != nil {
			r.ConfigJSON = *in.ConfigJSON
		}
		return st.CreateRun(ctx, r, token)
	})
	if err != nil {
		if c != nil {
			h.mu.Lock()
			c.reserved--
			h.mu.Unlock()
		}
		return labelhub.Run{}, err
	}
	if c == nil {
		h.queuedHint.Store(true)
		h.poke()
		return r, nil
	}
	if !h.start(c, r, token, 0) {
		return h.store.GetRun(ctx, a.Org.ID, r.ID)
	}
	return r, nil
}

// Wait blocks until the run is final or ctx ends, and returns the run as
// it is then. A run held or ended on this replica is looked up in memory;
// other runs are read from the database at every change signalled here
// and every poll interval, and local ones every localPolls intervals too
// (another replica may time a run out).
func (h *Hub) Wait(ctx context.Context, orgID, runID string) (labelhub.Run, error) {
	timer := time.NewTimer(h.cfg.PollInterval)
	defer timer.Stop()
	fromDB := false
	for polls := 0; ; {
		ch := h.Changed(runID)
		r, ok := h.local(orgID, runID)
		if !ok || fromDB {
			var err error
			if r, err = h.store.GetRun(ctx, orgID, runID); err != nil {
				return r, err
			}
		}
		if r.State.Final() {
			return r, nil
		}
		select {
		case <-ch:
			fromDB = false
		case <-timer.C:
			polls++
			fromDB = polls%localPolls == 0
			timer.Reset(h.cfg.PollInterval)
		case <-ctx.Done():
			return r, nil
		}
	}
}

// Cancel asks for a run to end. A queued run is cancelled at once; a
// running one gets run.cancel, and is cut off after the grace period.
func (h *Hub) Cancel(ctx context.Context, orgID, runID string) (labelhub.Run, error) {
	r, err := h.store.RequestCancel(ctx, orgID, runID)
	if err != nil {
		return r, err
	}
	h.sendCancels([]string{runID}, "cancelled by a user")
	if r.State.Final() {
		h.notify(runID)
	}
	return r, nil
}

// Instances lists a plugin's connected instances on every replica.
func (h *Hub) Instances(ctx context.Context, pluginID string) ([]labelhub.PluginInstance, error) {
	return h.store.ListInstances(ctx, pluginID)
}

// DisconnectPlugin closes this replica's connections of the plugin (after
// its secret was rotated); other replicas notice at their next check.
func (h *Hub) DisconnectPlugin(pluginID string) {
	h.mu.Lock()
	var cs []*conn
	for c := range h.byPlugin[pluginID] {
		cs = append(cs, c)
	}
	h.mu.Unlock()
	for _, c := range cs {
		c.closeWith(CloseSecretRotated, "plugin secret rotated")
	}
}

// freeConn returns a local connection of the plugin with free capacity,
// the least loaded, and reserves a slot on it.
func (h *Hub) freeConn(pluginID string) *conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var best *conn
	for c := range h.byPlugin[pluginID] {
		if c.gone || c.reserved+len(c.runs) >= c.capacity {
			continue
		}
		if best == nil || c.reserved+len(c.runs) < best.reserved+len(best.runs) {
			best = c
		}
	}
	if best != nil {
		best.reserved++
	}
	return best
}

// start makes r, stored as running on c (which holds a reserved slot),
// active here and sends it; false when c went meanwhile (the run is back
// in the queue then) or the send failed (c closes and its runs go back).
func (h *Hub) start(c *conn, r labelhub.Run, token string, logSeq int64) bool {
	h.mu.Lock()
	c.reserved--
	if c.gone {
		h.mu.Unlock()
		// Claimed by a connection that just went: back to the queue.
		err := h.write(func(ctx context.Context, st labelhub.PluginStore) error {
			_, err := st.RequeueRun(ctx, r.ID, c.id, time.Now().Add(h.cfg.QueueTimeout))
			return err
		})
		if err != nil {
			h.log.Error("requeue run", "run", r.ID, "err", err)
		}
		h.queuedHint.Store(true)
		h.poke()
		return false
	}
	ar := &activeRun{run: r, conn: c, logSeq: logSeq, logLines: int(logSeq)}
	c.runs[r.ID] = ar
	h.active[r.ID] = ar
	h.mu.Unlock()
	msg := &pluginproto.Message{Type: pluginproto.TypeAssign, ID: r.ID, Run: &pluginproto.Run{
		Session: r.ID, PluginID: c.plugin.ID, PluginType: string(c.plugin.Type), ProjectID: r.ProjectID, OrgID: r.OrgID, RunBy: r.RunBy,
		ConfigJSON: r.ConfigJSON, Batches: batchesOf(r.Params), APIKey: token, Attempt: r.Attempts, Deadline: r.Deadline.UTC(), Params: r.Params}}
	if err := c.send(msg); err != nil {
		h.log.Warn("send run.assign", "run", r.ID, "instance", c.id, "err", err)
		c.closeWith(websocket.StatusInternalError, "could not send run.assign")
		return false
	}
	h.notify(r.ID)
	return true
}

// claim is a queued run being claimed for a local connection.
type claim struct {
	c       *conn
	run     labelhub.Run
	token   string
	claimed bool
	logSeq  int64
	done    chan error
}

// claimQueued claims queued runs (read from the database) for local
// connections holding reserved slots, in one batch, and starts those it
// got. A run taken from the queue gets a fresh token: whoever created it
// kept only the hash.
func (h *Hub) claimQueued(cs []*claim) {
	for _, cl := range cs {
		cl.token = h.cfg.NewToken()
		cl.done = make(chan error, 1)
		deadline := time.Now().Add(h.cfg.RunTimeout)
		h.enqueue(&write{done: cl.done, apply: func(ctx context.Context, st labelhub.PluginStore) error {
			r, ok, err := st.ClaimRun(ctx, cl.run.ID, cl.c.id, deadline)
			cl.claimed = ok
			if err != nil || !ok {
				return err
			}
			cl.run = r
			ts, ok := st.(TokenSetter)
			if !ok {
				return errors.New("the store cannot replace run tokens")
			}
			if err := ts.SetRunToken(ctx, r.ID, cl.token); err != nil {
				return err
			}
			cl.logSeq = 0
			if r.Attempts > 1 {
				// Logs of earlier attempts stay; numbering goes on.
				cl.logSeq, err = st.LastRunLogSeq(ctx, r.ID)
			}
			return err
		}})
	}
	for _, cl := range cs {
		if err := <-cl.done; err != nil || !cl.claimed {
			if err != nil {
				h.log.Error("claim run", "run", cl.run.ID, "err", err)
			}
			h.mu.Lock()
			cl.c.reserved--
			h.mu.Unlock()
			continue
		}
		h.start(cl.c, cl.run, cl.token, cl.logSeq)
	}
}

// TokenSetter is implemented by stores that can replace a run's token.
type TokenSetter interface {
	SetRunToken(ctx context.Context, runID, token string) error
}

func (h *Hub) setToken(ctx context.Context, runID, token string) error {
	ts, ok := h.store.(TokenSetter)
	if !ok {
		return errors.New("the store cannot replace run tokens")
	}
	return ts.SetRunToken(ctx, runID, token)
}

func batchesOf(params json.RawMessage) []string {
	var p struct {
		Batches []string `json:"batches"`
	}
	_ = json.Unmarshal(params, &p)
	if p.Batches == nil {
		return []string{}
	}
	return p.Batches
}

// loop dispatches queued runs, acts on cancels and deadlines, and keeps
// the instance registry fresh.
func (h *Hub) loop() {
	defer h.wg.Done()
	tick := time.NewTicker(h.cfg.PollInterval)
	defer tick.Stop()
	var lastBeat time.Time
	// Runs held by instances of a previous life of the hub are recovered
	// once they are stale.
	h.recover()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.kick:
			// A slot was freed, an instance came, a run was queued here.
			h.dispatchQueued()
			continue
		case <-tick.C:
		}
		h.dispatchQueued()
		h.checkCancels()
		h.expire()
		h.pruneFinals()
		if time.Since(lastBeat) >= h.cfg.Heartbeat {
			lastBeat = time.Now()
			h.beat()
			h.recover()
		}
	}
}

func (h *Hub) recover() {
	n, err := h.store.RecoverRuns(h.ctx, time.Now().Add(-3*h.cfg.Heartbeat), h.cfg.MaxAttempts, time.Now().Add(h.cfg.QueueTimeout))
	if err != nil && h.ctx.Err() == nil {
		h.log.Error("recover runs", "err", err)
	}
	if n > 0 {
		h.log.Info("runs of vanished plugin instances requeued or failed", "runs", n)
		h.queuedHint.Store(true)
		h.poke()
	}
}

func (h *Hub) dispatchQueued() {
	h.mu.Lock()
	free := map[string]int{}
	for pid, cs := range h.byPlugin {
		for c := range cs {
			if !c.gone {
				free[pid] += max(0, c.capacity-len(c.runs)-c.reserved)
			}
		}
	}
	h.mu.Unlock()
	var ids []string
	total := 0
	for pid, n := range free {
		if n > 0 {
			ids = append(ids, pid)
			total += n
		}
	}
	if len(ids) == 0 {
		return
	}
	h.queuedHint.Store(false)
	limit := min(total, 1000)
	runs, err := h.store.QueuedRuns(h.ctx, ids, limit)
	if err != nil {
		if h.ctx.Err() == nil {
			h.log.Error("queued runs", "err", err)
		}
		h.queuedHint.Store(true)
		return
	}
	if len(runs) == limit {
		h.queuedHint.Store(true) // maybe more
	}
	cs := make([]*claim, 0, len(runs))
	for _, r := range runs {
		c := h.freeConn(r.PluginID)
		if c == nil {
			h.queuedHint.Store(true)
			continue
		}
		cs = append(cs, &claim{c: c, run: r})
	}
	h.claimQueued(cs)
}

func (h *Hub) checkCancels() {
	h.mu.Lock()
	ids := make([]string, 0, len(h.active))
	var cut []*activeRun
	for id, ar := range h.active {
		if ar.cancelAt.IsZero() {
			ids = append(ids, id)
		} else if time.Since(ar.cancelAt) > h.cfg.CancelGrace {
			cut = append(cut, ar)
		}
	}
	h.mu.Unlock()
	if len(ids) > 0 {
		want, err := h.store.CancelRequested(h.ctx, ids)
		if err != nil && h.ctx.Err() == nil {
			h.log.Error("cancel requests", "err", err)
		}
		h.sendCancels(want, "cancelled by a user")
	}
	for _, ar := range cut {
		h.finish(ar.conn, ar.run.ID, labelhub.RunCancelled, nil,
			fmt.Sprintf("%s; the plugin did not stop within the grace period of %s and was cut off", ar.reason, h.cfg.CancelGrace))
	}
}

// sendCancels sends run.cancel for those of ids held here.
func (h *Hub) sendCancels(ids []string, reason string) {
	for _, id := range ids {
		h.mu.Lock()
		ar := h.active[id]
		if ar == nil || !ar.cancelAt.IsZero() {
			h.mu.Unlock()
			continue
		}
		ar.cancelAt, ar.reason = time.Now(), reason
		c := ar.conn
		h.mu.Unlock()
		if err := c.send(&pluginproto.Message{Type: pluginproto.TypeCancel, ID: id, Reason: reason}); err != nil {
			h.log.Warn("send run.cancel", "run", id, "err", err)
		}
	}
}

func (h *Hub) expire() {
	runs, err := h.store.ExpireRuns(h.ctx, time.Now())
	if err != nil {
		if h.ctx.Err() == nil {
			h.log.Error("expire runs", "err", err)
		}
		return
	}
	for _, r := range runs {
		h.mu.Lock()
		ar := h.active[r.ID]
		if ar != nil {
			h.drop(ar)
		}
		h.mu.Unlock()
		if ar != nil {
			_ = ar.conn.send(&pluginproto.Message{Type: pluginproto.TypeCancel, ID: r.ID, Reason: "the run timed out"})
		}
		h.notify(r.ID)
		if w := h.endWrite(r, ""); w != nil {
			h.enqueue(w)
		}
	}
}

// drop forgets a local run; h.mu is held. The freed slot looks for
// queued runs at once only when there may be some: otherwise the next
// poll finds those of other replicas.
func (h *Hub) drop(ar *activeRun) {
	delete(h.active, ar.run.ID)
	delete(ar.conn.runs, ar.run.ID)
	if h.queuedHint.Load() {
		h.poke()
	}
}

// beat sends heartbeats, records last-seen times, closes silent
// connections and those whose secret was rotated (on any replica).
func (h *Hub) beat() {
	h.mu.Lock()
	cs := make([]*conn, 0, len(h.conns))
	for _, c := range h.conns {
		cs = append(cs, c)
	}
	h.mu.Unlock()
	var alive []string
	for _, c := range cs {
		// Socket.IO sessions have Engine.IO's pings instead; the SDK's own
		// heartbeat comes once a minute.
		if c.py == nil && time.Since(c.lastSeen()) > 3*h.cfg.Heartbeat {
			c.closeWith(websocket.StatusPolicyViolation, "no message for three heartbeat intervals")
			continue
		}
		if _, err := h.store.AuthenticatePlugin(h.ctx, c.plugin.ID, c.secret); labelhub.ErrorCode(err) == labelhub.ECodeUnauthorized {
			c.closeWith(CloseSecretRotated, "plugin secret rotated")
			continue
		}
		_ = c.send(&pluginproto.Message{Type: pluginproto.TypeHeartbeat})
		alive = append(alive, c.id)
	}
	if err := h.store.TouchInstances(h.ctx, alive, time.Now()); err != nil && h.ctx.Err() == nil {
		h.log.Error("touch instances", "err", err)
	}
}

// finish ends a run held by c, unless it ended already.
func (h *Hub) finish(c *conn, runID string, state labelhub.RunState, result json.RawMessage, errText string) {
	h.mu.Lock()
	ar := h.active[runID]
	if ar == nil || ar.conn != c {
		h.mu.Unlock()
		h.log.Warn("plugin reported the end of a run it does not hold", "run", runID, "instance", c.id)
		return
	}
	if state == labelhub.RunFailed && !ar.cancelAt.IsZero() {
		state = labelhub.RunCancelled
		errText = ar.reason + ": " + errText
	}
	h.drop(ar)
	// Until the end commits, a waiter finds the run here (settle in after
	// forgets it) instead of reading it back.
	h.ending[runID] = ar.run
	final := ar.run
	if !ar.cancelAt.IsZero() {
		final.CancelRequested = true
	}
	h.mu.Unlock()
	at := time.Now().UTC().Truncate(time.Microsecond)
	final.State, final.Result, final.Error, final.FinishedAt, final.UpdatedAt = state, result, errText, &at, at
	var changed, exact, noticed bool
	var notice *labelhub.Notification
	h.inOrder(ar, &write{
		apply: func(ctx context.Context, st labelhub.PluginStore) (err error) {
			st = lastCall(st)
			if nf, ok := st.(noticeFinisher); ok && c.plugin.Type == labelhub.PluginExport {
				noticed, exact = true, true
				changed, notice, err = nf.FinishRunNotice(ctx, runID, c.id, state, result, errText, at)
				return err
			}
			changed, exact, err = finishRun(ctx, st, runID, c.id, state, result, errText, at)
			return err
		},
		after: func(err error) {
			if err != nil {
				h.log.Error("finish run", "run", runID, "err", err)
			}
			if err == nil && changed && exact {
				h.settle(runID, &final)
			} else {
				h.notify(runID)
			}
			switch {
			case err != nil || !changed:
			case noticed && notice != nil:
				h.followUp(h.noticeWrite(runID, *notice))
			case !noticed:
				h.followUp(h.endWrite(final, c.plugin.Type))
			}
		}})
}

// ServeHTTP is GET /api/v1/plugins/connect.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.ctx.Err() != nil {
		http.Error(w, "the plugin hub is shutting down", http.StatusServiceUnavailable)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{})
	if err != nil {
		return // Accept answered the request
	}
	ws.SetReadLimit(int64(h.cfg.MaxMessageBytes))
	h.serve(r.Context(), ws)
}
