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

// sqliteSchema is the floor's part of labelhub's assets and tasks tables
// (sqlstore/migrations 00003 and 00005): the same columns an import fills
// and an export reads, and the same indexes on them.
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
    stage    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_project ON tasks(project, id);
CREATE INDEX IF NOT EXISTS tasks_stage ON tasks(project, stage, id);
`

// sqliteRowsPerInsert is how many rows one prepared INSERT carries (5
// values a row: well under SQLite's limit of 32766 variables).
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
	taskCols  = []string{"id", "project", "asset_id", "stage"}
)

// sqliteInserter holds the prepared multi-row INSERTs of one size.
type sqliteInserter struct {
	assets, tasks *sql.Stmt
}

// preparer is a *sql.DB or *sql.Tx.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

func prepareInserter(ctx context.Context, db preparer, rows int) (*sqliteInserter, error) {
	a, err := db.PrepareContext(ctx, multiInsert("assets", assetCols, rows))
	if err != nil {
		return nil, err
	}
	t, err := db.PrepareContext(ctx, multiInsert("tasks", taskCols, rows))
	if err != nil {
		a.Close()
		return nil, err
	}
	return &sqliteInserter{assets: a, tasks: t}, nil
}

func (in *sqliteInserter) close() {
	in.assets.Close()
	in.tasks.Close()
}

// ImportSQLite imports the NDJSON import file r into the SQLite database
// at path (created if need be): one asset and one task a line, 2000 lines
// a transaction, prepared INSERTs of 200 rows.
func ImportSQLite(ctx context.Context, path string, r io.Reader) (Result, error) {
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
	full, err := prepareInserter(ctx, db, sqliteRowsPerInsert)
	if err != nil {
		return Result{}, err
	}
	defer full.close()
	dec := newDecoder(r, first)
	rows := make([]row, 0, importBatch)
	aArgs := make([]any, 0, sqliteRowsPerInsert*len(assetCols))
	tArgs := make([]any, 0, sqliteRowsPerInsert*len(taskCols))
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
			if len(chunk) < sqliteRowsPerInsert {
				// The last few rows of the file: a statement of their own,
				// on the transaction's connection (the only one).
				if ins, err = prepareInserter(ctx, tx, len(chunk)); err != nil {
					tx.Rollback()
					return Result{}, err
				}
			}
			aArgs, tArgs = aArgs[:0], tArgs[:0]
			for _, r := range chunk {
				aArgs = append(aArgs, r.assetID, Project, r.externalID, r.data, r.metadata)
				tArgs = append(tArgs, r.taskID, Project, r.assetID, Stage)
			}
			_, err = ins.assets.ExecContext(ctx, aArgs...)
			if err == nil {
				_, err = ins.tasks.ExecContext(ctx, tArgs...)
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
// order.
const exportQuery = `SELECT t.id, t.stage, a.id, a.external_id, a.data, a.metadata
FROM tasks t JOIN assets a ON a.id = t.asset_id
WHERE t.project = $1 AND t.id > $2 ORDER BY t.id LIMIT $3`

// ExportSQLite writes every task of the SQLite database at path (filled
// by ImportSQLite) to w as NDJSON, one line a task, reading pages of 1000
// tasks by keyset.
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
	lw := newLineWriter(w)
	var items int64
	var last []byte
	for {
		rows, err := stmt.QueryContext(ctx, Project, string(last), exportPage)
		if err != nil {
			return Result{}, err
		}
		n := 0
		var tid, stage, aid, ext, data, meta sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&tid, &stage, &aid, &ext, &data, &meta); err != nil {
				rows.Close()
				return Result{}, err
			}
			if err := lw.line(tid, stage, aid, ext, data, meta); err != nil {
				rows.Close()
				return Result{}, err
			}
			last = append(last[:0], tid...)
			n++
		}
		if err := rows.Close(); err != nil {
			return Result{}, err
		}
		if err := rows.Err(); err != nil {
			return Result{}, err
		}
		items += int64(n)
		if n < exportPage {
			break
		}
	}
	if err := lw.flush(); err != nil {
		return Result{}, err
	}
	return Result{Items: items, Bytes: lw.n, Duration: time.Since(start)}, nil
}
