package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// bulk is a multi-row INSERT: one statement inserts up to rowsPer rows,
// which is several times faster than one statement per row on SQLite and
// PostgreSQL alike.
type bulk struct {
	head   string // INSERT INTO t (a, b, c) VALUES
	tail   string // ON CONFLICT … or ""
	ncols  int
	cached sync.Map // bulkKey → SQL text
}

type bulkKey struct {
	rows  int
	qmark bool
}

const bulkRows = 100

func newBulk(table, cols, tail string) *bulk {
	return &bulk{head: "INSERT INTO " + table + " (" + cols + ") VALUES ", tail: tail, ncols: strings.Count(cols, ",") + 1}
}

// sql is the statement for rows rows. qmark selects anonymous "?"
// parameters (SQLite) instead of "$n": SQLite keeps named and numbered
// parameters in a list that the driver searches linearly for each one it
// binds (sqlite3_bind_parameter_name), which made binding a 1,200-parameter
// statement quadratic — half of the import's CPU time.
func (b *bulk) sql(rows int, qmark bool) string {
	key := bulkKey{rows, qmark}
	if q, ok := b.cached.Load(key); ok {
		return q.(string)
	}
	var sb strings.Builder
	sb.WriteString(b.head)
	n := 1
	for r := 0; r < rows; r++ {
		if r > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('(')
		for c := 0; c < b.ncols; c++ {
			if c > 0 {
				sb.WriteByte(',')
			}
			if qmark {
				sb.WriteByte('?')
			} else {
				sb.WriteByte('$')
				sb.WriteString(strconv.Itoa(n))
			}
			n++
		}
		sb.WriteByte(')')
	}
	if b.tail != "" {
		sb.WriteByte(' ')
		sb.WriteString(b.tail)
	}
	q := sb.String()
	b.cached.Store(key, q)
	return q
}

// exec inserts the rows whose values are args, ncols per row, in chunks of
// bulkRows rows, with one prepared statement for the full chunks.
func (b *bulk) exec(ctx context.Context, tx *sql.Tx, qmark bool, args []any) error {
	rows := len(args) / b.ncols
	var stmt *sql.Stmt
	for start := 0; start < rows; start += bulkRows {
		n := min(bulkRows, rows-start)
		chunk := args[start*b.ncols : (start+n)*b.ncols]
		if n == bulkRows {
			if stmt == nil {
				var err error
				if stmt, err = tx.PrepareContext(ctx, b.sql(n, qmark)); err != nil {
					return err
				}
				defer stmt.Close()
			}
			if _, err := stmt.ExecContext(ctx, chunk...); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, b.sql(n, qmark), chunk...); err != nil {
			return err
		}
	}
	return nil
}

var (
	assetInsert = newBulk("assets", "id, org_id, project_id, external_id, type, data, doc, storage_id, import_id, probe_state, probe_error, created_at", "")
	taskInsert  = newBulk("tasks", "id, org_id, project_id, asset_id, stage_id, answer, version, created_at, updated_at, updated_by", "")
	linkInsert  = newBulk("asset_batches", "batch_id, asset_id, project_id", "ON CONFLICT DO NOTHING")
	errorInsert = newBulk("import_errors", "import_id, seq, item_index, line, path, message", "")
)

// placeholders returns "$from, $from+1, …" n times.
func placeholders(from, n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('$')
		sb.WriteString(strconv.Itoa(from + i))
	}
	return sb.String()
}
