package pluginhub

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/labelhub/labelhub"
)

// BatchStore is implemented by stores that apply many run changes in one
// transaction (sqlstore.Store). With one, the hub commits the changes of
// all runs that arrive while a commit is under way together (group
// commit); without, it applies them one by one.
type BatchStore interface {
	// RunBatch applies writes 0 … n-1, each with a store whose run
	// writes go to one transaction, committed when every apply returned
	// nil. It may apply them concurrently (sqlstore pipelines their
	// statements on PostgreSQL), so apply(i) touches only write i.
	//
	// When some writes fail having changed nothing, RunBatch may commit
	// the others all the same (sqlstore does when the COMMIT went with the
	// writes' last statements): it then returns an error with a method
	// WriteErrors() []error, the outcome of each write (nil: committed).
	RunBatch(ctx context.Context, n int, apply func(i int, st labelhub.PluginStore) error) error
}

// lastCaller is implemented by the stores RunBatch hands out that can
// commit the batch with a write's last statement: LastCall is the store
// for the last store call of a write (the write calls nothing after it and
// returns its error). sqlstore then sends the COMMIT on PostgreSQL with
// the statements of the writes' last calls when nothing else waits.
type lastCaller interface {
	LastCall() labelhub.PluginStore
}

// lastCall is st for a write's last store call.
func lastCall(st labelhub.PluginStore) labelhub.PluginStore {
	if lc, ok := st.(lastCaller); ok {
		return lc.LastCall()
	}
	return st
}

// exportRunCreator is implemented by stores that count the tasks of an
// export run (its params' numTasks) in the statement that inserts the run
// (sqlstore.Store), instead of a query of its own before it:
// ExportRunFilter checks the params as exportParamser does and returns
// them without numTasks and the export's filter, CreateExportRun is
// CreatePluginRun with numTasks set to the count of that filter; it
// returns the Config JSON and the params stored. CountsExportRuns says
// whether the store does so: on SQLite the count would run under the
// database's write lock, which a count of a large project holds for a
// while, so there the count stays a read of its own (exportParamser).
type exportRunCreator interface {
	CountsExportRuns() bool
	ExportRunFilter(ctx context.Context, orgID, projectID string, params json.RawMessage) (json.RawMessage, labelhub.ExportFilter, error)
	CreateExportRun(ctx context.Context, r labelhub.Run, f labelhub.ExportFilter, config *string, token string, maxQueued int) (string, json.RawMessage, error)
}

// noticeFinisher is implemented by stores whose only work at the end of a
// run (RunEndHandler) is a notice for runs of export plugins
// (sqlstore.Store): FinishRunNotice is FinishRunAt that also returns that
// notice (nil: none), read by the finishing statement, so that the hub
// adds it with one INSERT (AddNotification) instead of calling RunEnded.
type noticeFinisher interface {
	FinishRunNotice(ctx context.Context, id, instanceID string, state labelhub.RunState, result json.RawMessage, errText string, at time.Time) (bool, *labelhub.Notification, error)
	AddNotification(ctx context.Context, n labelhub.Notification) (labelhub.Notification, error)
}

// finisherAt is implemented by stores whose FinishRun can take the finish
// time, so that the hub knows the stored row without reading it back.
type finisherAt interface {
	FinishRunAt(ctx context.Context, id, instanceID string, state labelhub.RunState, result json.RawMessage, errText string, at time.Time) (bool, error)
}

// pluginRunCreator is implemented by stores that insert a run, checking
// its plugin and project and taking the plugin's default Config JSON, in
// one statement: one round trip instead of three. A run stored queued is
// refused (labelhub.TooManyQueuedRuns, nothing stored) when its plugin has
// maxQueued runs of the organisation queued already, checked race-free by
// the insert (maxQueued <= 0: no limit).
type pluginRunCreator interface {
	CreatePluginRun(ctx context.Context, r labelhub.Run, config *string, token string, maxQueued int) (string, error)
}

// maxBatch bounds the writes committed together.
const maxBatch = 512

// batchTimeout bounds one commit, so that a stuck database cannot stop the
// hub from closing.
const batchTimeout = 30 * time.Second

var errHubClosed = errors.New("the plugin hub is shutting down")

// A write is one change of the run state machine. The writer applies it
// with the others of its batch; then done receives the outcome (nil once
// the batch committed) and after runs in the goroutine that committed the
// batch, so after must not block nor enqueue writes: it may hand writes
// that follow from this one to followUp instead.
type write struct {
	apply func(ctx context.Context, st labelhub.PluginStore) error
	done  chan error
	after func(err error)
}

func (w *write) finish(err error) {
	if w.done != nil {
		w.done <- err
	}
	if w.after != nil {
		w.after(err)
	}
}

// enqueue hands w to the writer; it blocks while the queue is full.
// Callers must not hold h.mu.
func (h *Hub) enqueue(w *write) {
	h.wmu.RLock()
	if h.wclosed {
		h.wmu.RUnlock()
		w.finish(errHubClosed)
		return
	}
	h.writes <- w
	h.wmu.RUnlock()
}

// write applies fn in the next batch and returns once that batch has
// committed (or failed): what fn wrote is durable when it returns nil.
func (h *Hub) write(fn func(ctx context.Context, st labelhub.PluginStore) error) error {
	w := &write{apply: fn, done: make(chan error, 1)}
	h.enqueue(w)
	return <-w.done
}

// unordered queues a log or progress write of ar, which its caller does
// not wait for: until it has committed, the writes that end the run wait
// (inOrder), so that a reader who sees the run ended sees its last lines.
func (h *Hub) unordered(ar *activeRun, w *write) {
	h.mu.Lock()
	ar.pending++
	h.mu.Unlock()
	after := w.after
	w.after = func(err error) {
		if after != nil {
			after(err)
		}
		h.mu.Lock()
		ar.pending--
		var parked []*write
		if ar.pending == 0 {
			parked, ar.parked = ar.parked, nil
		}
		h.mu.Unlock()
		for _, p := range parked {
			if errors.Is(err, errHubClosed) {
				p.finish(err) // the writer is gone: the end would be refused too
			} else {
				h.followUp(p)
			}
		}
	}
	h.enqueue(w)
}

// inOrder queues w, a write that ends ar, once the run's log and progress
// writes queued before it have committed. With one batch at a time they
// do before it in any case: the writer commits in queue order.
func (h *Hub) inOrder(ar *activeRun, w *write) {
	h.mu.Lock()
	if h.slots > 1 && ar.pending > 0 {
		ar.parked = append(ar.parked, w)
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	h.enqueue(w)
}

// followUpWait is how long follow-ups wait for a write to share a batch
// with when nothing else is queued: a batch of follow-ups alone would hold
// up the next write behind its commit (on a quiet hub, the next run of a
// caller that waited for the end of the previous one).
const followUpWait = 20 * time.Millisecond

// followUp makes w part of the next batch. Only after callbacks may call
// it; w is committed even when the hub closes.
func (h *Hub) followUp(w *write) {
	if w == nil {
		return
	}
	h.nmu.Lock()
	h.next = append(h.next, w)
	h.nmu.Unlock()
	select {
	case h.nextKick <- struct{}{}:
	default:
	}
}

// takeNext removes up to maxBatch follow-ups and appends them to batch.
func (h *Hub) takeNext(batch []*write) []*write {
	h.nmu.Lock()
	defer h.nmu.Unlock()
	n := min(len(h.next), maxBatch)
	batch = append(batch, h.next[:n]...)
	h.next = append(h.next[:0], h.next[n:]...)
	return batch
}

// concurrentBatcher is implemented by BatchStores that commit more than
// one batch at once well (sqlstore on PostgreSQL: a transaction on a
// connection of its own each, the server working on one while the other
// travels); ConcurrentBatches is how many.
type concurrentBatcher interface {
	ConcurrentBatches() int
}

// writeLoop is the one writer: it takes the follow-ups of the batches
// committed and every write queued while a batch committed, and commits
// them in one transaction. With a concurrentBatcher, up to that many
// batches commit at once, each batch taking what came while the others
// committed; the writes of one run stay in order all the same, since a
// write of a run is queued only once its previous one committed (the end
// of a run after its start was sent, a follow-up after its write), and
// the writes that end a run wait for its log and progress writes
// (inOrder).
func (h *Hub) writeLoop() {
	defer h.wwg.Done()
	slots := max(1, h.slots)
	free := make(chan struct{}, slots) // a commit slot each
	for range slots {
		free <- struct{}{}
	}
	var commits sync.WaitGroup
	var reuse []*write // the batch of the last commit, when made here
	wait := time.NewTimer(followUpWait)
	wait.Stop()
	closed := false
	for {
		<-free
		batch := reuse[:0]
		if slots > 1 {
			batch = make([]*write, 0, 64)
		}
		batch = h.takeNext(batch)
		switch {
		case len(batch) == 0 && closed:
			free <- struct{}{}
			commits.Wait() // their follow-ups are committed too
			h.nmu.Lock()
			more := len(h.next) > 0
			h.nmu.Unlock()
			if !more {
				return
			}
			continue
		case len(batch) == 0:
			select {
			case w, ok := <-h.writes:
				if !ok {
					closed = true
					free <- struct{}{}
					continue
				}
				batch = append(batch, w)
			case <-h.nextKick:
				free <- struct{}{}
				continue
			}
		case !closed:
			wait.Reset(followUpWait)
			select {
			case w, ok := <-h.writes:
				if ok {
					batch = append(batch, w)
				}
				closed = !ok
			case <-wait.C:
			}
			wait.Stop()
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case w, ok := <-h.writes:
				if !ok {
					closed = true
					break fill
				}
				batch = append(batch, w)
			default:
				break fill
			}
		}
		if slots == 1 {
			h.commit(batch)
			clear(batch)
			reuse = batch
			free <- struct{}{}
			continue
		}
		commits.Add(1)
		go func() {
			defer commits.Done()
			h.commit(batch)
			free <- struct{}{}
		}()
	}
}

// commit applies a batch. When the batch fails, each write is tried alone,
// so that one bad write (say, a run of a plugin deleted meanwhile) does
// not fail the others; when the database is gone every write fails, and
// every waiter gets the error.
func (h *Hub) commit(batch []*write) {
	errs := make([]error, len(batch))
	bs, ok := h.store.(BatchStore)
	if !ok {
		for i, w := range batch {
			errs[i] = h.applyAlone(w)
		}
	} else if err := h.applyBatch(bs, batch); err != nil {
		var we interface{ WriteErrors() []error }
		if errors.As(err, &we) && len(we.WriteErrors()) == len(batch) {
			// Committed, but for the writes that failed alone.
			copy(errs, we.WriteErrors())
		} else if len(batch) == 1 {
			errs[0] = err
		} else {
			for i, w := range batch {
				errs[i] = h.applyBatch(bs, []*write{w})
			}
		}
	}
	for i, w := range batch {
		w.finish(errs[i])
	}
}

func (h *Hub) applyBatch(bs BatchStore, ws []*write) error {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	return bs.RunBatch(ctx, len(ws), func(i int, st labelhub.PluginStore) error { return ws[i].apply(ctx, st) })
}

func (h *Hub) applyAlone(w *write) error {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	return w.apply(ctx, h.store)
}

// finishRun is st.FinishRun with the finish time at when st can take it;
// exact reports whether it could, that is whether the stored row has at.
func finishRun(ctx context.Context, st labelhub.PluginStore, id, instanceID string, state labelhub.RunState, result json.RawMessage, errText string, at time.Time) (changed, exact bool, err error) {
	if f, ok := st.(finisherAt); ok {
		changed, err = f.FinishRunAt(ctx, id, instanceID, state, result, errText, at)
		return changed, true, err
	}
	changed, err = st.FinishRun(ctx, id, instanceID, state, result, errText)
	return changed, false, err
}
