package imports_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/imports"
	"github.com/labelhub/labelhub/storage/assetref"
)

// slowStore is a store whose heartbeats take delay and whose batches take
// a while. A heartbeat cut off by its context is still applied when its
// delay is over, as a database applies a statement it had received when
// the client gave up on it.
type slowStore struct {
	imports.Store
	delay time.Duration
	wg    sync.WaitGroup
}

func (s *slowStore) HeartbeatImport(ctx context.Context, id, runner string, at time.Time) error {
	done := make(chan error, 1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		time.Sleep(s.delay)
		done <- s.Store.HeartbeatImport(context.Background(), id, runner, at)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *slowStore) CommitImportBatch(ctx context.Context, b labelhub.ImportBatch) (labelhub.ImportCounts, error) {
	time.Sleep(10 * time.Millisecond)
	return s.Store.CommitImportBatch(ctx, b)
}

// A runner that stops releases its imports after its last heartbeat, so
// that the next runner resumes them at once, not StaleAfter later: the
// release must not be overwritten by a heartbeat that was still on its way.
func TestStoppedImportIsResumableAtOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		slow := &slowStore{Store: e.s, delay: 150 * time.Millisecond}
		t.Cleanup(slow.wg.Wait)
		first := imports.New(imports.Config{Store: slow, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SpoolDir: e.spool, BatchSize: 50,
			StaleAfter: 5 * time.Second, Heartbeat: 10 * time.Millisecond,
			Integrations: func(context.Context, string) (map[string]assetref.Integration, error) { return nil, nil }})
		t.Cleanup(first.Close)
		im, err := first.Start(ctx, e.org.ID, e.user.ID, e.project.ID, labelhub.ImportOptions{}, bytes.NewReader(items(names("h-", 0, 3000), 1, "")))
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			cur, _ := e.s.GetImport(ctx, e.org.ID, im.ID)
			if cur.NextIndex >= 100 {
				break
			}
			if cur.State != labelhub.ImportRunning || time.Now().After(deadline) {
				t.Fatalf("import %s before the stop: state %s, next index %d", im.ID, cur.State, cur.NextIndex)
			}
		}
		first.Close()
		// Any heartbeat of the first runner has landed by now.
		time.Sleep(2 * slow.delay)
		second := e.runner(500) // StaleAfter 1 s: only a released import is taken over this soon
		second.ResumeStale(ctx)
		second.Wait(ctx, im.ID)
		cur, _ := e.s.GetImport(ctx, e.org.ID, im.ID)
		wantCounts(t, cur, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 3000, Valid: 3000, Imported: 3000})
	})
}
