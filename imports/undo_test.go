package imports_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
)

// items is an NDJSON file of one item per externalId, in order.
func items(ids []string, version int, extra string) []byte {
	var b bytes.Buffer
	for _, id := range ids {
		fmt.Fprintf(&b, `{"externalId":%q,"data":"https://example.com/v%d/%s.jpg","metadata":{"v":%d}%s}`+"\n", id, version, id, version, extra)
	}
	return b.Bytes()
}

func names(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

func (e *env) errors(id string) []labelhub.ImportError {
	e.t.Helper()
	var all []labelhub.ImportError
	p := labelhub.PageRequest{Limit: 1000}
	for {
		pg, err := e.s.ListImportErrors(context.Background(), e.org.ID, id, p)
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, pg.Items...)
		if pg.NextCursor == "" {
			return all
		}
		p.Cursor = pg.NextCursor
	}
}

// db opens the env's database directly, to read what the store's API
// does not show (task answers, the dry runs' bookkeeping).
func (e *env) db() *sql.DB {
	e.t.Helper()
	if e.raw != nil {
		return e.raw
	}
	driver, dsn := "sqlite", e.dsn
	if strings.HasPrefix(dsn, "postgres") {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		e.t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	e.t.Cleanup(func() { db.Close() })
	e.raw = db
	return db
}

func (e *env) scalar(q string, args ...any) string {
	e.t.Helper()
	var v sql.NullString
	if err := e.db().QueryRowContext(context.Background(), q, args...).Scan(&v); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return v.String
}

// snapshot is everything of an asset an import may change.
type snapshot struct {
	Type, Data, Metadata, Probe, Answer string
	Batches                             string
}

func (e *env) snapshots() map[string]snapshot {
	e.t.Helper()
	out := map[string]snapshot{}
	for _, a := range e.assets(labelhub.AssetFilter{}) {
		out[a.ExternalID] = snapshot{Type: string(a.Type), Data: a.Data, Metadata: string(a.Metadata), Probe: a.Probe.State,
			Answer:  e.scalar(`SELECT answer FROM tasks WHERE asset_id = $1`, a.ID),
			Batches: fmt.Sprint(a.Batches)}
	}
	return out
}

// TestDryRunSeesDuplicatesAcrossBatches: a dry run reports duplicates
// between batches of one file, and against the project's assets, exactly
// as the real run does.
func TestDryRunSeesDuplicatesAcrossBatches(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		r := e.runner(100)
		// e-0…e-49 exist already.
		e.run(r, labelhub.ImportOptions{}, items(names("e-", 0, 50), 1, ""))
		ids := names("e-", 40, 290) // 40…49 are in the project
		ids = append(ids, "e-100", "e-150", "e-300", "e-300", "e-45")
		body := items(ids, 2, "")
		for _, dup := range []string{labelhub.DuplicateError, labelhub.DuplicateSkip, labelhub.DuplicateUpdate} {
			t.Run(dup, func(t *testing.T) {
				dry := e.run(r, labelhub.ImportOptions{DryRun: true, OnDuplicate: dup}, body)
				if e.scalar(`SELECT COUNT(*) FROM import_seen WHERE import_id = $1`, dry.ID) != "0" {
					t.Error("the dry run's externalIds were kept after it ended")
				}
				dryErrs := e.errors(dry.ID)
				if n := len(e.assets(labelhub.AssetFilter{})); n != 50 {
					t.Fatalf("dry run wrote assets: %d", n)
				}
				real := e.run(r, labelhub.ImportOptions{OnDuplicate: dup}, body)
				realErrs := e.errors(real.ID)
				if dry.Counts != real.Counts || !reflect.DeepEqual(dryErrs, realErrs) {
					t.Fatalf("dry run %+v %+v\nreal run %+v %+v", dry.Counts, dryErrs, real.Counts, realErrs)
				}
				if dup == labelhub.DuplicateError {
					// 40…49 and 45 against the project; 100, 150 (earlier
					// batches) and the second 300 (same batch) in the file.
					wantCounts(t, dry, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 255, Valid: 241, Imported: 241, Invalid: 14})
					var got []string
					for _, x := range dryErrs[10:] {
						got = append(got, fmt.Sprintf("%d:%d:%s", x.Index, x.Line, x.Path))
						if !strings.Contains(x.Message, `"`+ids[x.Index]+`"`) {
							t.Errorf("error %+v does not name the externalId", x)
						}
					}
					if want := []string{"250:251:[250].externalId", "251:252:[251].externalId", "253:254:[253].externalId", "254:255:[254].externalId"}; !reflect.DeepEqual(got, want) {
						t.Fatalf("errors %v, want %v", got, want)
					}
					if !strings.Contains(dryErrs[11].Message, "earlier item") || !strings.Contains(dryErrs[13].Message, "exists already") {
						t.Fatalf("messages %+v", dryErrs)
					}
				}
				// Back to the first 50 for the next mode.
				if _, err := r.Rollback(context.Background(), e.org.ID, real.ID); err != nil {
					t.Fatal(err)
				}
				r.Wait(context.Background(), real.ID)
				if n := len(e.assets(labelhub.AssetFilter{})); n != 50 {
					t.Fatalf("%d assets after the rollback", n)
				}
			})
		}
	})
}

// TestAtomicRefusesDuplicatesAcrossBatches: the validation pass of an
// atomic import sees a duplicate between batches, and nothing is written.
func TestAtomicRefusesDuplicatesAcrossBatches(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		r := e.runner(100)
		ids := append(names("a-", 0, 350), "a-5")
		im := e.run(r, labelhub.ImportOptions{Atomic: true, OnDuplicate: labelhub.DuplicateError, CreateBatches: true, Batches: []string{"b"}}, items(ids, 1, ""))
		if im.State != labelhub.ImportFailed || im.Counts.Invalid != 1 || !strings.Contains(im.Error, "nothing was imported") {
			t.Fatalf("atomic: %+v", im)
		}
		errs := e.errors(im.ID)
		if len(errs) != 1 || errs[0].Index != 350 || errs[0].Line != 351 || !strings.Contains(errs[0].Message, `"a-5"`) {
			t.Fatalf("errors %+v", errs)
		}
		if n := len(e.assets(labelhub.AssetFilter{})); n != 0 {
			t.Fatalf("atomic import with a duplicate wrote %d assets", n)
		}
		// Duplicates against the project are refused too.
		e.run(r, labelhub.ImportOptions{}, items([]string{"a-300"}, 1, ""))
		im = e.run(r, labelhub.ImportOptions{Atomic: true, OnDuplicate: labelhub.DuplicateError}, items(names("a-", 0, 350), 1, ""))
		if im.State != labelhub.ImportFailed || im.Counts.Invalid != 1 {
			t.Fatalf("atomic: %+v", im)
		}
		if n := len(e.assets(labelhub.AssetFilter{})); n != 1 {
			t.Fatalf("%d assets", n)
		}
		// Skip: the validation pass finds nothing invalid, the write pass
		// skips the duplicates.
		im = e.run(r, labelhub.ImportOptions{Atomic: true, OnDuplicate: labelhub.DuplicateSkip}, items(ids, 1, ""))
		wantCounts(t, im, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 351, Valid: 351, Imported: 349, Skipped: 2})
	})
}

// TestRollbackUndoesUpdates: rolling back an onDuplicate=update import
// restores the assets it changed (content, pre-labelled answers, batch
// links) and removes the ones it added; rolling back a label import
// restores the answers.
func TestRollbackUndoesUpdates(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.runner(100)
		first := e.run(r, labelhub.ImportOptions{CreateBatches: true, Batches: []string{"first"}}, items(names("u-", 0, 250), 1, ""))
		wantCounts(t, first, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 250, Valid: 250, Imported: 250})
		labels, err := r.ImportLabels(ctx, e.org.ID, e.user.ID, e.project.ID, strings.NewReader(`[{"externalId":"u-1"},{"externalId":"u-2"},{"externalId":"nope"}]`))
		if err != nil || labels.State != labelhub.ImportSucceeded || labels.Counts.Updated != 2 || labels.Counts.Invalid != 1 {
			t.Fatalf("labels %+v %v", labels, err)
		}
		before := e.snapshots()
		if before["u-1"].Answer == "" || before["u-3"].Answer != "" {
			t.Fatalf("answers before: %+v %+v", before["u-1"], before["u-3"])
		}

		// Updates of u-0…u-149 (u-10 twice, in different batches), with
		// pre-labels on the first 20, and 30 new assets.
		ids := append(names("u-", 0, 150), names("n-", 0, 30)...)
		body := append(items(ids[:20], 2, `,"preLabels":{"objects":[]}`), items(ids[20:], 2, "")...)
		body = append(body, items([]string{"u-10"}, 3, "")...)
		upd := e.run(r, labelhub.ImportOptions{OnDuplicate: labelhub.DuplicateUpdate, CreateBatches: true, Batches: []string{"second"}}, body)
		wantCounts(t, upd, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 181, Valid: 181, Imported: 30, Updated: 151})
		after := e.snapshots()
		if len(after) != 280 || after["u-10"].Metadata != `{"v":3}` || after["u-5"].Answer == "" || after["u-5"].Answer == before["u-5"].Answer ||
			!strings.Contains(after["u-100"].Batches, "second") || after["u-200"] != before["u-200"] {
			t.Fatalf("after the update: %+v %+v %+v", after["u-10"], after["u-5"], after["u-100"])
		}

		if _, err := r.Rollback(ctx, e.org.ID, upd.ID); err != nil {
			t.Fatal(err)
		}
		r.Wait(ctx, upd.ID)
		if cur, _ := e.s.GetImport(ctx, e.org.ID, upd.ID); cur.State != labelhub.ImportRolledBack {
			t.Fatalf("after the rollback: %+v", cur)
		}
		if got := e.snapshots(); !reflect.DeepEqual(got, before) {
			for k, v := range before {
				if got[k] != v {
					t.Errorf("%s: %+v, want %+v", k, got[k], v)
				}
			}
			t.Fatalf("rollback left %d assets, want %d as before", len(got), len(before))
		}
		if n := e.scalar(`SELECT COUNT(*) FROM import_undo WHERE import_id = $1`, upd.ID); n != "0" {
			t.Fatalf("%s undo rows left", n)
		}

		// The label import's answers go back too.
		if _, err := r.Rollback(ctx, e.org.ID, labels.ID); err != nil {
			t.Fatal(err)
		}
		r.Wait(ctx, labels.ID)
		got := e.snapshots()
		if got["u-1"].Answer != "" || got["u-2"].Answer != "" || len(got) != 250 {
			t.Fatalf("after the label rollback: %+v %+v", got["u-1"], got["u-2"])
		}
	})
}

// TestUpdateResumeKeepsFirstUndo: an update import stopped between
// batches and resumed by another runner still restores the state before
// the import (the undo rows committed with the batches are kept once).
func TestUpdateResumeKeepsFirstUndo(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		r := e.runner(50)
		e.run(r, labelhub.ImportOptions{}, items(names("k-", 0, 2000), 1, ""))
		before := e.snapshots()
		// Every asset updated twice: the second time in a later batch.
		ids := append(names("k-", 0, 2000), names("k-", 0, 2000)...)
		first := e.runner(50)
		im, err := first.Start(ctx, e.org.ID, e.user.ID, e.project.ID, labelhub.ImportOptions{OnDuplicate: labelhub.DuplicateUpdate}, bytes.NewReader(items(ids, 2, "")))
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			cur, _ := e.s.GetImport(ctx, e.org.ID, im.ID)
			if cur.NextIndex >= 100 || cur.State != labelhub.ImportRunning {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no progress")
			}
			time.Sleep(2 * time.Millisecond)
		}
		first.Close()
		second := e.runner(50)
		second.ResumeStale(ctx)
		second.Wait(ctx, im.ID)
		cur, _ := e.s.GetImport(ctx, e.org.ID, im.ID)
		wantCounts(t, cur, labelhub.ImportSucceeded, labelhub.ImportCounts{Received: 4000, Valid: 4000, Updated: 4000})
		if _, err := second.Rollback(ctx, e.org.ID, im.ID); err != nil {
			t.Fatal(err)
		}
		second.Wait(ctx, im.ID)
		if got := e.snapshots(); !reflect.DeepEqual(got, before) {
			t.Fatalf("after the rollback: %+v, want %+v", got["k-7"], before["k-7"])
		}
	})
}
