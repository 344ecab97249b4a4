package pluginhub_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/labelhub/labelhub"
)

// runFloor is the floor the run benchmarks are quoted against: the least
// a run of the hub's benchmarks needs, done by a bare program with the
// same drivers on the same database (the hub's tables, indexes and rows).
// A run is
//
//   - an INSERT of its plugin_runs row, stored running on an instance,
//     with the SHA-256 of a fresh token, committed before the run is sent;
//   - a run.assign-sized message to the plugin and a result back, on one
//     loopback WebSocket shared by every run in flight (an echo server);
//   - an UPDATE of the row to succeeded and an INSERT of the export's
//     notification, committed before the caller learns the end.
//
// One writer goroutine commits the statements of every run waiting
// together in one transaction (group commit): on PostgreSQL with pgx
// itself, pipelined (pgx.Batch: one round trip a transaction), on
// SQLite with database/sql on one connection with prepared statements and
// the hub's pragmas. Nothing else: no plugin lookup, no export count, no
// HTTP, no protocol decoding beyond the echo.
type runFloor struct {
	e      *benchEnv
	ws     *websocket.Conn
	wsMu   sync.Mutex
	echoes sync.Map // run id → chan struct{}
	ops    chan *floorOp
	stop   func()
}

type floorOp struct {
	id    string
	start bool // insert the run, else finish it and notify
	done  chan error
}

func newRunFloor(b *testing.B, e *benchEnv) *runFloor {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	echo := httptest.NewServer(http.HandlerFunc(echoWebSocket))
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(echo.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	f := &runFloor{e: e, ws: ws, ops: make(chan *floorOp, 2048)}
	exec, closeDB := f.openDB(b, ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); f.readEchoes(ctx) }()
	go func() { defer wg.Done(); f.writeLoop(ctx, exec) }()
	f.stop = func() {
		close(f.ops)
		cancel()
		ws.CloseNow()
		wg.Wait()
		closeDB()
		echo.Close()
	}
	b.Cleanup(f.stop)
	return f
}

const (
	floorInsertRun = `INSERT INTO plugin_runs (id, org_id, plugin_id, project_id, state, config_json, params, run_by, token_hash,
		created_at, updated_at, deadline, instance_id, attempts, started_at) VALUES ($1, $2, $3, $4, 'running', '', '{}', $5, $6, $7, $7, $8, 'floor', 1, $7)`
	floorFinishRun = `UPDATE plugin_runs SET state = 'succeeded', result = 'true', error = '', finished_at = $1, updated_at = $1 WHERE id = $2 AND state = 'running'`
	floorNotify    = `INSERT INTO notifications (id, org_id, user_id, kind, title, message, run_id, created_at, read_at) VALUES ($1, $2, $3, 'export.ready', 'Export ready', $4, $5, $6, NULL)`
)

// openDB returns the function that commits one batch of ops.
func (f *runFloor) openDB(b *testing.B, ctx context.Context) (func([]*floorOp) error, func()) {
	e := f.e
	args := func(op *floorOp) (string, []any) {
		t := time.Now().UnixMicro()
		if op.start {
			h := sha256.Sum256([]byte("lhr_" + labelhub.NewID()))
			return floorInsertRun, []any{op.id, e.actor.Org.ID, e.plugin.ID, e.project.ID, e.actor.User.ID, hex.EncodeToString(h[:]), t, t + 3600e6}
		}
		return "", []any{t, op.id}
	}
	notice := func(op *floorOp) []any {
		return []any{labelhub.NewID(), e.actor.Org.ID, e.actor.User.ID, `Your export "P" of P finished without a result file`, op.id, time.Now().UnixMicro()}
	}
	if e.db == "postgres" {
		conn, err := pgx.Connect(ctx, e.dsn)
		if err != nil {
			b.Fatal(err)
		}
		return func(ops []*floorOp) error {
				var batch pgx.Batch
				batch.Queue("BEGIN")
				for _, op := range ops {
					q, a := args(op)
					if op.start {
						batch.Queue(q, a...)
					} else {
						batch.Queue(floorFinishRun, a...)
						batch.Queue(floorNotify, notice(op)...)
					}
				}
				batch.Queue("COMMIT")
				return conn.SendBatch(ctx, &batch).Close()
			}, func() {
				conn.Close(context.Background())
			}
	}
	db, err := sql.Open("sqlite", "file:"+e.dsn+
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	stmts := map[string]*sql.Stmt{}
	for _, q := range []string{floorInsertRun, floorFinishRun, floorNotify, "BEGIN IMMEDIATE", "COMMIT"} {
		if stmts[q], err = db.PrepareContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	return func(ops []*floorOp) error {
			if _, err := stmts["BEGIN IMMEDIATE"].Exec(); err != nil {
				return err
			}
			for _, op := range ops {
				q, a := args(op)
				var err error
				if op.start {
					_, err = stmts[q].Exec(a...)
				} else if _, err = stmts[floorFinishRun].Exec(a...); err == nil {
					_, err = stmts[floorNotify].Exec(notice(op)...)
				}
				if err != nil {
					db.Exec("ROLLBACK")
					return err
				}
			}
			_, err := stmts["COMMIT"].Exec()
			return err
		}, func() {
			db.Close()
		}
}

// writeLoop commits every op waiting in one transaction.
func (f *runFloor) writeLoop(ctx context.Context, exec func([]*floorOp) error) {
	batch := make([]*floorOp, 0, 512)
	for op := range f.ops {
		batch = append(batch[:0], op)
	fill:
		for len(batch) < cap(batch) {
			select {
			case op, ok := <-f.ops:
				if !ok {
					break fill
				}
				batch = append(batch, op)
			default:
				break fill
			}
		}
		err := exec(batch)
		for _, op := range batch {
			op.done <- err
		}
	}
}

func (f *runFloor) readEchoes(ctx context.Context) {
	for {
		_, msg, err := f.ws.Read(ctx)
		if err != nil {
			return
		}
		// The id is the message's first field, as in the hub's run.assign.
		id := string(msg[7:33])
		if ch, ok := f.echoes.LoadAndDelete(id); ok {
			close(ch.(chan struct{}))
		}
	}
}

func (f *runFloor) commit(id string, start bool) error {
	op := &floorOp{id: id, start: start, done: make(chan error, 1)}
	f.ops <- op
	return <-op.done
}

// run does one run's floor work.
func (f *runFloor) run(ctx context.Context) error {
	id := labelhub.NewID()
	if err := f.commit(id, true); err != nil {
		return err
	}
	ch := make(chan struct{})
	f.echoes.Store(id, ch)
	msg := []byte(`{"id":"` + id + `","v":1,"type":"run.assign","run":{"session":"` + id + `","pluginId":"` + f.e.plugin.ID +
		`","pluginType":"export","projectId":"` + f.e.project.ID + `","orgId":"` + f.e.actor.Org.ID + `","runBy":"` + f.e.actor.User.ID +
		`","configJSON":"","batches":[],"apiKey":"lhr_0123456789abcdefghijklmnopqrstuvwxy","attempt":1,"deadline":"2026-01-01T00:00:00Z","params":{}}}`)
	f.wsMu.Lock()
	err := f.ws.Write(ctx, websocket.MessageText, msg)
	f.wsMu.Unlock()
	if err != nil {
		return err
	}
	select {
	case <-ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	return f.commit(id, false)
}

// loadAvg is the 1-minute load average, or -1.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	var l float64
	if err != nil {
		return -1
	}
	if _, err := fmt.Sscan(string(b), &l); err != nil {
		return -1
	}
	return l
}
