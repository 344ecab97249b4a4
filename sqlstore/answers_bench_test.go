package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/testservers"
)

// BenchmarkAnswerWrites has 4 writers replace answers at once through
// PutAnswer, each on its own tasks of one project (answerTasks tasks,
// imported through CommitImportBatch), each write with the version the
// writer got back from its previous write (no read before it), on SQLite
// and PostgreSQL. It reports writes/s, then measures the floor (answerFloor)
// as many times on the same rows and reports floor-writes/s and the ratio
// (labelhub time / floor time), and logs a "versus floor:" line with the
// load average.
//
//	go test ./sqlstore -run '^$' -bench AnswerWrites -benchtime 4000x
func BenchmarkAnswerWrites(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			dsn := filepath.Join(b.TempDir(), "bench.db")
			if db == "postgres" {
				dsn = testservers.Postgres(b)
			}
			benchAnswerWrites(b, dsn, 4)
		})
	}
}

const answerTasks = 2000

// answerBench is the project and tasks the writers share.
type answerBench struct {
	s       *Store
	orgID   string
	user    labelhub.User
	ids     []string
	version []int64 // by task, as the last write left it
}

func newAnswerBench(b *testing.B, dsn string) *answerBench {
	ctx := context.Background()
	s, err := Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	org, user, p, bt := benchProject(b, s)
	benchLoad(b, s, org.ID, user.ID, p.ID, bt.ID, answerTasks)
	ab := &answerBench{s: s, orgID: org.ID, user: user}
	for f := (labelhub.TaskFilter{Limit: labelhub.MaxPageLimit}); ; {
		page, err := s.ListTasks(ctx, org.ID, p.ID, f)
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range page {
			ab.ids = append(ab.ids, t.ID)
			ab.version = append(ab.version, t.Version)
		}
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].ID
	}
	if s.postgres {
		if _, err := s.db.ExecContext(ctx, `ANALYZE tasks; ANALYZE assets; ANALYZE asset_batches`); err != nil {
			b.Fatal(err)
		}
	}
	return ab
}

// benchAnswer is the answer of write i: one box that moves.
func benchAnswer(i int) labelhub.Answer {
	return labelhub.Answer{Tools: []labelhub.Object{{ObjectID: "c1", SchemaID: "car", Title: "Car",
		BoundingBox: &labelhub.Box{X: float64(i % 1000), Y: 2, Width: 3, Height: 4}}}}
}

// writeAll makes n writes with writers at once, writer w on the tasks
// w, w+writers, …, and returns the time they took.
func (ab *answerBench) writeAll(n, writers int, write func(w, task, i int) error) (time.Duration, error) {
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				if err := write(w, i%len(ab.ids), i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	close(errs)
	return el, <-errs
}

func benchAnswerWrites(b *testing.B, dsn string, writers int) {
	ctx := context.Background()
	ab := newAnswerBench(b, dsn)
	b.ResetTimer()
	el, err := ab.writeAll(b.N, writers, func(w, task, i int) error {
		t, err := ab.s.PutAnswer(ctx, ab.orgID, ab.ids[task], ab.user, ab.version[task], benchAnswer(i))
		if err == nil {
			ab.version[task] = t.Version
		}
		return err
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	rate := float64(b.N) / el.Seconds()
	b.ReportMetric(rate, "writes/s")

	f := newAnswerFloor(b, ab, dsn, writers)
	fel, err := ab.writeAll(b.N, writers, func(w, task, i int) error { return f.write(ctx, w, ab.ids[task], i) })
	if err != nil {
		b.Fatal(err)
	}
	frate := float64(b.N) / fel.Seconds()
	b.ReportMetric(frate, "floor-writes/s")
	b.ReportMetric(frate/rate, "ratio")
	b.ReportMetric(0, "ns/op")
	if b.N > 1 {
		b.Logf("versus floor: %s answer writes, %d writers: labelhub %.0f writes/s, floor %.0f writes/s, ratio %.2f (labelhub time / floor time), %d writes; load %s",
			ab.s.Dialect(), writers, rate, frate, frate/rate, b.N, loadAvg())
	}
}

// answerFloor is the least an answer write does, by a bare program with
// the same drivers on the same rows: in one transaction, read the stored
// answer and version of the task with the row locked (SELECT … FOR UPDATE
// on PostgreSQL; SQLite's BEGIN IMMEDIATE takes the write lock), decode
// it, encode the new answer, UPDATE answer, version, updated_at and
// updated_by where the version is the one read. One connection a writer:
// pgx on PostgreSQL, pipelined (BEGIN with the read, the UPDATE with the
// COMMIT: two round trips a write); database/sql on SQLite with the hub's
// pragmas and prepared statements. Nothing else: no reading back of the
// task, its asset, batches and history for the reply, no workflow, no
// role check, no item metadata.
type answerFloor struct {
	orgID, userID string
	pg            []*pgx.Conn
	lite          *sql.DB
	read, update  *sql.Stmt
}

const (
	floorReadAnswer   = `SELECT answer, version FROM tasks WHERE org_id = $1 AND id = $2`
	floorUpdateAnswer = `UPDATE tasks SET answer = $1, version = version + 1, updated_at = $2, updated_by = $3 WHERE org_id = $4 AND id = $5 AND version = $6`
)

func newAnswerFloor(b *testing.B, ab *answerBench, dsn string, writers int) *answerFloor {
	ctx := context.Background()
	f := &answerFloor{orgID: ab.orgID, userID: ab.user.ID}
	if ab.s.postgres {
		for range writers {
			c, err := pgx.Connect(ctx, dsn)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { c.Close(context.Background()) })
			f.pg = append(f.pg, c)
		}
		return f
	}
	db, err := sql.Open("sqlite", "file:"+dsn+
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(writers)
	db.SetMaxIdleConns(writers)
	b.Cleanup(func() { db.Close() })
	f.lite = db
	if f.read, err = db.PrepareContext(ctx, floorReadAnswer); err != nil {
		b.Fatal(err)
	}
	if f.update, err = db.PrepareContext(ctx, floorUpdateAnswer); err != nil {
		b.Fatal(err)
	}
	return f
}

func (f *answerFloor) next(stored string, i int) (string, error) {
	var prev labelhub.Answer
	if stored != "" {
		if err := json.Unmarshal([]byte(stored), &prev); err != nil {
			return "", err
		}
	}
	text, err := json.Marshal(benchAnswer(i))
	return string(text), err
}

func (f *answerFloor) write(ctx context.Context, w int, taskID string, i int) error {
	var stored string
	var version int64
	if f.pg != nil {
		c := f.pg[w]
		var batch pgx.Batch
		batch.Queue("BEGIN")
		batch.Queue(floorReadAnswer+" FOR UPDATE", f.orgID, taskID).QueryRow(func(row pgx.Row) error { return row.Scan(&stored, &version) })
		if err := c.SendBatch(ctx, &batch).Close(); err != nil {
			return err
		}
		text, err := f.next(stored, i)
		if err != nil {
			return err
		}
		batch = pgx.Batch{}
		batch.Queue(floorUpdateAnswer, text, time.Now().UnixMicro(), f.userID, f.orgID, taskID, version)
		batch.Queue("COMMIT")
		return c.SendBatch(ctx, &batch).Close()
	}
	tx, err := f.lite.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.StmtContext(ctx, f.read).QueryRowContext(ctx, f.orgID, taskID).Scan(&stored, &version); err != nil {
		return err
	}
	text, err := f.next(stored, i)
	if err != nil {
		return err
	}
	if _, err := tx.StmtContext(ctx, f.update).ExecContext(ctx, text, time.Now().UnixMicro(), f.userID, f.orgID, taskID, version); err != nil {
		return err
	}
	return tx.Commit()
}

// loadAvg is the load averages of /proc/loadavg, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
