package floor

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver the hub uses
)

// sqliteSchema is the floor's part of labelhub's assets, tasks and
// task_history tables (sqlstore/migrations 00003 and 00005): the same
// columns an import fills and an export reads, and the same indexes on
// them.
const sqliteSchema = `
CREATE TABLE IF NOT EXISTS assets (
    id          TEXT PRIMARY KEY,
    project     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    data        TEXT NOT NULL,
    metadata    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS assets_project ON assets(project, id);
CREATE INDEX IF NOT EXISTS assets_external ON assets(project, external_id);
CREATE TABLE IF NOT EXISTS tasks (
    id       TEXT PRIMARY KEY,
    project  TEXT NOT NULL,
    asset_id TEXT NOT NULL UNIQUE,
    stage    TEXT NOT NULL,
    answer   TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    total_duration_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tasks_project ON tasks(project, id);
CREATE INDEX IF NOT EXISTS tasks_stage ON tasks(project, stage, id);
CREATE TABLE IF NOT EXISTS task_history (
    task_id      TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    stage_id     TEXT NOT NULL,
    stage_name   TEXT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    completed_at BIGINT NOT NULL,
    completed_by TEXT NOT NULL,
    answer       TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
);
`

// sqliteRowsPerInsert is how many rows one prepared INSERT carries (at
// most 8 values a row: well under SQLite's limit of 32766 variables).
const sqliteRowsPerInsert = 200

// openSQLite opens the database file at path with the hub's pragmas
// (sqlstore.Open): WAL, synchronous=NORMAL, busy_timeout, temp_store in
// memory, immediate transactions, one connection.
func openSQLite(ctx context.Context, path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, sqliteSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("floor: sqlite schema: %w", err)
	}
	return db, nil
}

// multiInsert is "INSERT INTO table (cols) VALUES (?,…),(?,…)…" for rows
// rows.
func multiInsert(table string, cols []string, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}

var (
	assetCols = []string{"id", "project", "external_id", "data", "metadata"}
	taskCols  = []string{"id", "project", "asset_id", "stage", "answer", "updated_at", "updated_by", "total_duration_ms"}
	histCols  = []string{"task_id", "seq", "stage_id", "stage_name", "duration_ms", "completed_at", "completed_by", "answer"}
)

// taskValues appends the values of a task row (taskCols).
func taskValues(v []any, r *row, a Answer, now int64) []any {
	return append(v, r.taskID, Project, r.assetID, Stage, a.Text, now, a.UserID, int64(a.History)*historyDuration)
}

// histValues appends the values of a task's history rows (histCols).
func histValues(v []any, r *row, a Answer, now int64) []any {
	for seq := range a.History {
		v = append(v, r.taskID, int64(seq+1), Stage, stageName, int64(historyDuration), now, a.UserID, a.Text)
	}
	return v
}

// stageName is the name of Stage in the history entries.
const stageName = "Start"

// sqliteInserter holds the prepared multi-row INSERTs of one size (history
// nil without history rows).
type sqliteInserter struct {
	assets, tasks, history *sql.Stmt
}

// preparer is a *sql.DB or *sql.Tx.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// prepareInserter prepares the INSERTs of rows items, with history
// entries a task.
func prepareInserter(ctx context.Context, db preparer, rows, history int) (*sqliteInserter, error) {
	a, err := db.PrepareContext(ctx, multiInsert("assets", assetCols, rows))
	if err != nil {
		return nil, err
	}
	t, err := db.PrepareContext(ctx, multiInsert("tasks", taskCols, rows))
	if err != nil {
		a.Close()
		return nil, err
	}
	in := &sqliteInserter{assets: a, tasks: t}
	if history > 0 {
		if in.history, err = db.PrepareContext(ctx, multiInsert("task_history", histCols, rows*history)); err != nil {
			in.close()
			return nil, err
		}
	}
	return in, nil
}

func (in *sqliteInserter) close() {
	for _, s := range []*sql.Stmt{in.assets, in.tasks, in.history} {
		if s != nil {
			s.Close()
		}
	}
}

// ImportSQLite imports the NDJSON import file r into the SQLite database
// at path (created if need be): one asset and one task a line, with a's
// answer and history rows, 2000 lines a transaction, prepared INSERTs of
// 200 items.
func ImportSQLite(ctx context.Context, path string, r io.Reader, a Answer) (Result, error) {
	if a.History*sqliteRowsPerInsert*len(histCols) > 32766 {
		return Result{}, fmt.Errorf("floor: %d history entries a task are too many", a.History)
	}
	start := time.Now()
	db, err := openSQLite(ctx, path)
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	var first int64
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM assets").Scan(&first); err != nil {
		return Result{}, err
	}
	now := time.Now().UnixMicro()
	full, err := prepareInserter(ctx, db, sqliteRowsPerInsert, a.History)
	if err != nil {
		return Result{}, err
	}
	defer full.close()
	dec := newDecoder(r, first)
	rows := make([]row, 0, importBatch)
	aArgs := make([]any, 0, sqliteRowsPerInsert*len(assetCols))
	tArgs := make([]any, 0, sqliteRowsPerInsert*len(taskCols))
	hArgs := make([]any, 0, sqliteRowsPerInsert*a.History*len(histCols))
	var items int64
	for {
		if rows, err = dec.batch(rows); err != nil {
			return Result{}, err
		}
		if len(rows) == 0 {
			break
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return Result{}, err
		}
		for chunk := range chunks(rows, sqliteRowsPerInsert) {
			ins := &sqliteInserter{assets: tx.StmtContext(ctx, full.assets), tasks: tx.StmtContext(ctx, full.tasks)}
			if full.history != nil {
				ins.history = tx.StmtContext(ctx, full.history)
			}
			if len(chunk) < sqliteRowsPerInsert {
				// The last few rows of the file: a statement of their own,
				// on the transaction's connection (the only one).
				ins.close()
				if ins, err = prepareInserter(ctx, tx, len(chunk), a.History); err != nil {
					tx.Rollback()
					return Result{}, err
				}
			}
			aArgs, tArgs, hArgs = aArgs[:0], tArgs[:0], hArgs[:0]
			for i := range chunk {
				r := &chunk[i]
				aArgs = append(aArgs, r.assetID, Project, r.externalID, r.data, r.metadata)
				tArgs = taskValues(tArgs, r, a, now)
				hArgs = histValues(hArgs, r, a, now)
			}
			_, err = ins.assets.ExecContext(ctx, aArgs...)
			if err == nil {
				_, err = ins.tasks.ExecContext(ctx, tArgs...)
			}
			if err == nil && ins.history != nil {
				_, err = ins.history.ExecContext(ctx, hArgs...)
			}
			ins.close()
			if err != nil {
				tx.Rollback()
				return Result{}, fmt.Errorf("floor: insert: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return Result{}, err
		}
		items += int64(len(rows))
	}
	return Result{Items: items, Bytes: dec.cr.n, Duration: time.Since(start)}, nil
}

// chunks yields rows in slices of at most n.
func chunks(rows []row, n int) func(yield func([]row) bool) {
	return func(yield func([]row) bool) {
		for len(rows) > 0 {
			k := min(n, len(rows))
			if !yield(rows[:k]) {
				return
			}
			rows = rows[k:]
		}
	}
}

// exportQuery is one keyset page of tasks with their assets in task id
// order; historyQuery the history entries of a page's tasks (a range of
// task ids), in task id order.
const (
	exportQuery = `SELECT t.id, t.stage, t.updated_at, t.updated_by, t.total_duration_ms, t.answer,
	a.id, a.external_id, a.data, a.metadata
FROM tasks t JOIN assets a ON a.id = t.asset_id
WHERE t.project = $1 AND t.id > $2 ORDER BY t.id LIMIT $3`
	historyQuery = `SELECT task_id, stage_id, stage_name, duration_ms, completed_at, completed_by, answer
FROM task_history WHERE task_id >= $1 AND task_id <= $2 ORDER BY task_id, seq`
)

// ExportSQLite writes every task of the SQLite database at path (filled
// by ImportSQLite) to w as NDJSON, one line a task with its answer and
// history, reading pages of 1000 tasks by keyset and the history of each
// page in one query.
func ExportSQLite(ctx context.Context, path string, w io.Writer) (Result, error) {
	start := time.Now()
	db, err := openSQLite(ctx, path)
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	stmt, err := db.PrepareContext(ctx, exportQuery)
	if err != nil {
		return Result{}, err
	}
	defer stmt.Close()
	hist, err := db.PrepareContext(ctx, historyQuery)
	if err != nil {
		return Result{}, err
	}
	defer hist.Close()
	return exportPages(start, w, func(last string, p *pageRows) error { return sqlitePage(ctx, stmt, hist, last, p) })
}

// sqlitePage reads the page of tasks after last, then their history.
func sqlitePage(ctx context.Context, stmt, hist *sql.Stmt, last string, p *pageRows) error {
	rows, err := stmt.QueryContext(ctx, Project, last, exportPage)
	if err != nil {
		return err
	}
	defer rows.Close()
	var tid, stage, by, answer, aid, ext, data, meta sql.RawBytes
	var t exportTask
	for rows.Next() {
		if err := rows.Scan(&tid, &stage, &t.updatedAt, &by, &t.totalDuration, &answer, &aid, &ext, &data, &meta); err != nil {
			return err
		}
		t.taskID, t.stage, t.updatedBy, t.answer = p.keep(tid), p.keep(stage), p.keep(by), p.keep(answer)
		t.assetID, t.externalID, t.data, t.metadata = p.keep(aid), p.keep(ext), p.keep(data), p.keep(meta)
		p.tasks = append(p.tasks, t)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(p.tasks) == 0 {
		return nil
	}
	hrows, err := hist.QueryContext(ctx, string(p.text(p.tasks[0].taskID)), string(p.text(p.tasks[len(p.tasks)-1].taskID)))
	if err != nil {
		return err
	}
	defer hrows.Close()
	var sid, sname, cby sql.RawBytes
	var h exportHist
	for hrows.Next() {
		if err := hrows.Scan(&tid, &sid, &sname, &h.duration, &h.completedAt, &cby, &answer); err != nil {
			return err
		}
		h.taskID, h.stageID, h.stageName, h.completedBy, h.answer = p.keep(tid), p.keep(sid), p.keep(sname), p.keep(cby), p.keep(answer)
		p.hist = append(p.hist, h)
	}
	if err := hrows.Err(); err != nil {
		return err
	}
	p.attach()
	return nil
}
