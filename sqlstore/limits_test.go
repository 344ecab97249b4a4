package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
	"github.com/labelhub/labelhub/testservers"
)

// forEachReplicas runs fn with two stores on one fresh database (two
// replicas sharing it), on SQLite and on PostgreSQL.
func forEachReplicas(t *testing.T, fn func(t *testing.T, a, b *sqlstore.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		dsn := filepath.Join(t.TempDir(), "test.db")
		a := open(t, dsn)
		fn(t, a, open(t, dsn))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testservers.Postgres(t)
		a := open(t, dsn)
		fn(t, a, open(t, dsn))
	})
}

// race runs n calls of f at once and returns how many returned nil; the
// others must fail with code.
func race(t *testing.T, n int, code string, f func(i int) error) int {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if labelhub.ErrorCode(err) != code {
			t.Fatalf("error %v (code %q), want %q", err, labelhub.ErrorCode(err), code)
		}
	}
	return ok
}

// Twenty creators on two replicas race for a limit of five imports of an
// organisation at once: five get one, the others a rate_limited error
// naming the limit, and nothing of theirs is stored; an import that ends
// frees a place.
func TestCreateImportLimited(t *testing.T) {
	forEachReplicas(t, func(t *testing.T, a, b *sqlstore.Store) {
		ctx := context.Background()
		f := newImportFixture(t, a)
		stores := []*sqlstore.Store{a, b}
		ims := make([]labelhub.Import, 20)
		for i := range ims {
			ims[i] = labelhub.Import{ID: labelhub.NewID(), OrgID: f.org.ID, ProjectID: f.project.ID, Kind: labelhub.ImportKindAssets,
				State: labelhub.ImportRunning, CreatedBy: f.userID, Runner: "r"}
		}
		ok := race(t, len(ims), labelhub.ECodeRateLimited, func(i int) error {
			return stores[i%2].CreateImportLimited(ctx, ims[i], 5)
		})
		if ok != 5 {
			t.Fatalf("%d imports created, want 5", ok)
		}
		var created []labelhub.Import
		for _, im := range ims {
			if _, err := a.GetImport(ctx, f.org.ID, im.ID); err == nil {
				created = append(created, im)
			} else {
				wantCode(t, err, labelhub.ECodeNotFound)
			}
		}
		if len(created) != 5 {
			t.Fatalf("%d imports stored, want 5", len(created))
		}
		extra := labelhub.Import{ID: labelhub.NewID(), OrgID: f.org.ID, ProjectID: f.project.ID, Kind: labelhub.ImportKindLabels,
			State: labelhub.ImportRunning, CreatedBy: f.userID, Runner: "r"}
		err := b.CreateImportLimited(ctx, extra, 5)
		wantCode(t, err, labelhub.ECodeRateLimited)
		want := "your organisation has 5 imports running, the limit (--import-max-concurrent-per-org); wait for one to end"
		if err.Error() != want {
			t.Fatalf("message %q, want %q", err, want)
		}
		if e := err.(*labelhub.Error); e.RetryAfter <= 0 {
			t.Fatalf("RetryAfter = %v", e.RetryAfter)
		}
		// Other organisations and no limit are not concerned.
		org2, user2, _ := newOrg(t, b, "other@example.com")
		p2, err := b.CreateProject(ctx, org2.ID, user2.ID, labelhub.ProjectInput{Name: ptr("other")})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.CreateImportLimited(ctx, labelhub.Import{ID: labelhub.NewID(), OrgID: org2.ID, ProjectID: p2.ID,
			Kind: labelhub.ImportKindAssets, State: labelhub.ImportRunning, CreatedBy: user2.ID, Runner: "r"}, 5); err != nil {
			t.Fatal(err)
		}
		// One ends: one more is accepted, then the limit holds again.
		if err := a.FinishImport(ctx, created[0].ID, "r", labelhub.ImportSucceeded, ""); err != nil {
			t.Fatal(err)
		}
		if err := b.CreateImportLimited(ctx, extra, 5); err != nil {
			t.Fatalf("after one ended: %v", err)
		}
		extra.ID = labelhub.NewID()
		wantCode(t, a.CreateImportLimited(ctx, extra, 5), labelhub.ECodeRateLimited)
		if err := a.CreateImportLimited(ctx, extra, 0); err != nil {
			t.Fatalf("no limit: %v", err)
		}
	})
}

// Twenty creators on two replicas (half of them in group-commit batches)
// race for a limit of five queued runs of a plugin: five are stored, the
// others refused with nothing stored; runs stored running are not
// counted nor refused; a queued run that ends frees a place.
func TestCreatePluginRunQueuedLimit(t *testing.T) {
	forEachReplicas(t, func(t *testing.T, a, b *sqlstore.Store) {
		ctx := context.Background()
		org, admin, _ := newOrg(t, a, "admin@example.com")
		p, _, err := a.CreatePlugin(ctx, org.ID, admin.ID, labelhub.PluginInput{Name: ptr("E"), Type: ptr(labelhub.PluginExport)})
		if err != nil {
			t.Fatal(err)
		}
		proj, err := a.CreateProject(ctx, org.ID, admin.ID, labelhub.ProjectInput{Name: ptr("P")})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now().UTC().Truncate(time.Microsecond)
		mk := func() labelhub.Run {
			return labelhub.Run{ID: labelhub.NewID(), OrgID: org.ID, PluginID: p.ID, ProjectID: proj.ID, RunBy: admin.ID,
				State: labelhub.RunQueued, CreatedAt: t0, Deadline: t0.Add(time.Hour)}
		}
		type creator interface {
			CreatePluginRun(ctx context.Context, r labelhub.Run, config *string, token string, maxQueued int) (string, error)
		}
		create := func(s *sqlstore.Store, batch bool, r labelhub.Run, limit int) error {
			if !batch {
				_, err := s.CreatePluginRun(ctx, r, nil, sqlstore.NewRunToken(), limit)
				return err
			}
			return s.RunBatch(ctx, 1, func(_ int, st labelhub.PluginStore) error {
				_, err := st.(creator).CreatePluginRun(ctx, r, nil, sqlstore.NewRunToken(), limit)
				return err
			})
		}
		stores := []*sqlstore.Store{a, b}
		runs := make([]labelhub.Run, 20)
		for i := range runs {
			runs[i] = mk()
		}
		ok := race(t, len(runs), labelhub.ECodeRateLimited, func(i int) error {
			return create(stores[i%2], i%4 < 2, runs[i], 5)
		})
		if ok != 5 {
			t.Fatalf("%d runs created, want 5", ok)
		}
		var stored []string
		for _, r := range runs {
			if _, err := a.GetRun(ctx, org.ID, r.ID); err == nil {
				stored = append(stored, r.ID)
			} else {
				wantCode(t, err, labelhub.ECodeNotFound)
			}
		}
		if len(stored) != 5 {
			t.Fatalf("%d runs stored, want 5", len(stored))
		}
		for _, batch := range []bool{false, true} {
			err := create(b, batch, mk(), 5)
			wantCode(t, err, labelhub.ECodeRateLimited)
			want := fmt.Sprintf("plugin %s has 5 runs queued, the limit (--plugin-max-queued-runs); wait for some to start or end, or connect more instances of the plugin", p.ID)
			if err.Error() != want {
				t.Fatalf("message %q, want %q", err, want)
			}
		}
		// The plugin and the project are still checked first.
		missing := mk()
		missing.ProjectID = labelhub.NewID()
		wantCode(t, create(a, false, missing, 5), labelhub.ECodeNotFound)
		// A run dispatched at once is stored running: not limited.
		running := mk()
		running.State, running.InstanceID, running.Attempts, running.StartedAt = labelhub.RunRunning, "inst", 1, &t0
		if err := create(a, true, running, 5); err != nil {
			t.Fatalf("a run stored running: %v", err)
		}
		// A queued run cancelled frees a place.
		if _, err := a.RequestCancel(ctx, org.ID, stored[0]); err != nil {
			t.Fatal(err)
		}
		if err := create(b, false, mk(), 5); err != nil {
			t.Fatalf("after a cancel: %v", err)
		}
		wantCode(t, create(a, true, mk(), 5), labelhub.ECodeRateLimited)
		if err := create(a, false, mk(), 0); err != nil {
			t.Fatalf("no limit: %v", err)
		}
	})
}
