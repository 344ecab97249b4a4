package pluginhub

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/labelhub/labelhub"
)

// fakeBatchStore records the batches it is given. A batch applies its
// writes to a copy of the committed values and keeps the copy only when
// every write and then commitErr succeed, like a transaction.
type fakeBatchStore struct {
	labelhub.PluginStore // nil: the writes of these tests call no method

	gate      chan struct{} // when set, the first batch waits on it
	entered   chan struct{} // closed when the first batch started
	commitErr error

	mu        sync.Mutex
	sizes     []int
	committed map[string]bool
	pending   map[string]bool
}

func (f *fakeBatchStore) RunBatch(ctx context.Context, n int, apply func(int, labelhub.PluginStore) error) error {
	f.mu.Lock()
	first := len(f.sizes) == 0
	f.sizes = append(f.sizes, 0)
	f.pending = map[string]bool{}
	f.mu.Unlock()
	if first && f.gate != nil {
		close(f.entered)
		<-f.gate
	}
	for i := range n {
		if err := apply(i, f); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.commitErr != nil {
		return f.commitErr
	}
	for k := range f.pending {
		f.committed[k] = true
	}
	return nil
}

// put is a write of key, failing when key is "bad".
func (f *fakeBatchStore) put(key string) func(context.Context, labelhub.PluginStore) error {
	return func(ctx context.Context, st labelhub.PluginStore) error {
		if st != labelhub.PluginStore(f) {
			return errors.New("the write did not get the batch's store")
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.sizes[len(f.sizes)-1]++
		if key == "bad" {
			return errors.New("bad write")
		}
		f.pending[key] = true
		return nil
	}
}

func startWriter(t *testing.T, st labelhub.PluginStore) *Hub {
	h := &Hub{store: st, writes: make(chan *write, 4*maxBatch), nextKick: make(chan struct{}, 1)}
	h.wwg.Add(1)
	go h.writeLoop()
	t.Cleanup(func() {
		h.wmu.Lock()
		if !h.wclosed {
			h.wclosed = true
			close(h.writes)
		}
		h.wmu.Unlock()
		h.wwg.Wait()
	})
	return h
}

// Writes queued while a batch commits go together in the next batch, and
// each waiter learns its own outcome: one bad write does not fail the
// others of its batch.
func TestGroupCommit(t *testing.T) {
	f := &fakeBatchStore{gate: make(chan struct{}), entered: make(chan struct{}), committed: map[string]bool{}}
	h := startWriter(t, f)
	first := make(chan error, 1)
	go func() { first <- h.write(f.put("first")) }()
	<-f.entered // the first batch is committing
	keys := []string{"a", "b", "bad", "c", "d"}
	dones := make([]chan error, len(keys))
	for i, k := range keys {
		dones[i] = make(chan error, 1)
		h.enqueue(&write{apply: f.put(k), done: dones[i]})
	}
	close(f.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		err := <-dones[i]
		if (k == "bad") != (err != nil) {
			t.Errorf("write %s: %v", k, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// The second batch held all five and failed; each was then tried alone.
	if len(f.sizes) != 2+len(keys) || f.sizes[1] != 3 {
		t.Fatalf("batches %v, want [1 3 …] then one per write", f.sizes)
	}
	for _, k := range []string{"first", "a", "b", "c", "d"} {
		if !f.committed[k] {
			t.Errorf("%s was not committed", k)
		}
	}
	if f.committed["bad"] {
		t.Error("the bad write was committed")
	}
}

// When the commit itself fails (the database went away), every waiter of
// the batch gets the error and nothing is reported as stored.
func TestBatchCommitFailureReachesEveryWaiter(t *testing.T) {
	boom := errors.New("database is closed")
	f := &fakeBatchStore{gate: make(chan struct{}), entered: make(chan struct{}), committed: map[string]bool{}, commitErr: boom}
	h := startWriter(t, f)
	first := make(chan error, 1)
	go func() { first <- h.write(f.put("first")) }()
	<-f.entered
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	var afters sync.WaitGroup
	afterErrs := make([]error, n)
	for i := range n {
		wg.Add(1)
		afters.Add(1)
		done := make(chan error, 1)
		h.enqueue(&write{apply: f.put(string(rune('a' + i))), done: done, after: func(err error) { afterErrs[i] = err; afters.Done() }})
		go func() { defer wg.Done(); errs[i] = <-done }()
	}
	close(f.gate)
	wg.Wait()
	afters.Wait()
	if err := <-first; !errors.Is(err, boom) {
		t.Errorf("first batch: %v", err)
	}
	for i := range n {
		if !errors.Is(errs[i], boom) || !errors.Is(afterErrs[i], boom) {
			t.Errorf("write %d: done %v, after %v", i, errs[i], afterErrs[i])
		}
	}
	if len(f.committed) != 0 {
		t.Fatalf("committed %v", f.committed)
	}
}

// After Close, writes fail at once instead of waiting forever.
func TestWriteAfterClose(t *testing.T) {
	f := &fakeBatchStore{committed: map[string]bool{}}
	h := startWriter(t, f)
	if err := h.write(f.put("x")); err != nil {
		t.Fatal(err)
	}
	closeWriter(h)
	if err := h.write(f.put("y")); !errors.Is(err, errHubClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if !f.committed["x"] || f.committed["y"] {
		t.Fatalf("committed %v", f.committed)
	}
}

// A write's after callback may hand the writer a follow-up: it goes in the
// next batch, apart from the write it follows, and is committed even when
// the hub closes right after.
func TestFollowUpGoesInTheNextBatch(t *testing.T) {
	f := &fakeBatchStore{committed: map[string]bool{}}
	h := startWriter(t, f)
	done := make(chan error, 1)
	h.enqueue(&write{apply: f.put("end"), done: done, after: func(err error) {
		if err == nil {
			h.followUp(&write{apply: f.put("notice")})
		}
	}})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	closeWriter(h)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.committed["end"] || !f.committed["notice"] || len(f.sizes) != 2 {
		t.Fatalf("committed %v in batches %v, want end and notice in two", f.committed, f.sizes)
	}
}

// concurrentFake is a fakeBatchStore that commits two batches at once.
type concurrentFake struct{ *fakeBatchStore }

func (concurrentFake) ConcurrentBatches() int { return 2 }

// With a store that commits two batches at once, writes queued while one
// batch is stuck commit in another; the follow-ups of both are committed,
// and Close waits for every batch.
func TestConcurrentBatches(t *testing.T) {
	f, h, put := startConcurrentWriter()
	first := make(chan error, 1)
	h.enqueue(&write{apply: put("first"), done: first, after: func(err error) {
		if err == nil {
			h.followUp(&write{apply: put("first-notice")})
		}
	}})
	<-f.entered // the first batch is stuck
	if err := h.write(put("second")); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	if !f.committed["second"] || f.committed["first"] {
		t.Errorf("committed %v while the first batch is stuck", f.committed)
	}
	f.mu.Unlock()
	close(f.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	closeWriter(h)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range []string{"first", "second", "first-notice"} {
		if !f.committed[k] {
			t.Errorf("%s was not committed: %v", k, f.committed)
		}
	}
}

// With two batches at once, the end of a run waits for the run's log
// lines queued before it: a reader who sees the run ended sees its lines.
// Writes queued after the end may commit before it meanwhile.
func TestRunEndWaitsForItsLogs(t *testing.T) {
	f, h, put := startConcurrentWriter()
	ar := &activeRun{}
	logged := make(chan struct{})
	h.unordered(ar, &write{apply: put("log"), after: func(error) { close(logged) }})
	<-f.entered // the log line's batch is stuck
	ended := make(chan error, 1)
	var logFirst bool
	h.inOrder(ar, &write{apply: func(ctx context.Context, st labelhub.PluginStore) error {
		f.mu.Lock()
		logFirst = f.committed["log"]
		f.mu.Unlock()
		return put("end")(ctx, st)
	}, done: ended})
	if err := h.write(put("other")); err != nil { // through the free slot
		t.Fatal(err)
	}
	f.mu.Lock()
	if f.committed["end"] {
		t.Errorf("the run's end committed while its log line was not: %v", f.committed)
	}
	f.mu.Unlock()
	close(f.gate)
	<-logged
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
	if !logFirst {
		t.Error("the run's end was applied before its log line committed")
	}
	closeWriter(h)
	if ar.pending != 0 || len(ar.parked) != 0 {
		t.Errorf("pending %d, parked %d after the writes", ar.pending, len(ar.parked))
	}
}

// startConcurrentWriter starts a writer on a concurrentFake whose first
// batch waits on its gate; put is a write of key to it.
func startConcurrentWriter() (*fakeBatchStore, *Hub, func(string) func(context.Context, labelhub.PluginStore) error) {
	f := &fakeBatchStore{gate: make(chan struct{}), entered: make(chan struct{}), committed: map[string]bool{}}
	h := &Hub{store: concurrentFake{f}, slots: 2, writes: make(chan *write, 4*maxBatch), nextKick: make(chan struct{}, 1)}
	h.wwg.Add(1)
	go h.writeLoop()
	put := func(key string) func(context.Context, labelhub.PluginStore) error {
		return func(ctx context.Context, st labelhub.PluginStore) error {
			return f.put(key)(ctx, f)
		}
	}
	return f, h, put
}

// closeWriter closes h's queue of writes and waits for the writer, which
// commits what is queued first.
func closeWriter(h *Hub) {
	h.wmu.Lock()
	h.wclosed = true
	close(h.writes)
	h.wmu.Unlock()
	h.wwg.Wait()
}
