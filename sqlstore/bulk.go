package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// bulk is a multi-row INSERT: one statement inserts up to rowsPer rows,
// which is several times faster than one statement per row on SQLite and
// PostgreSQL alike.
type bulk struct {
	head   string // INSERT INTO t (a, b, c) VALUES
	tail   string // ON CONFLICT … or ""
	ncols  int
	table  string
	cols   []string
	cached sync.Map // bulkKey → SQL text
}

type bulkKey struct {
	rows  int
	qmark bool
}

const bulkRows = 100

func newBulk(table, cols, tail string) *bulk {
	b := &bulk{head: "INSERT INTO " + table + " (" + cols + ") VALUES ", tail: tail, ncols: strings.Count(cols, ",") + 1, table: table}
	for _, c := range strings.Split(cols, ",") {
		b.cols = append(b.cols, strings.TrimSpace(c))
	}
	return b
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

// stmtCache keeps the statements of the multi-row INSERTs prepared on the
// pool, for the transactions of import batches: Tx.StmtContext reuses a
// statement once it is prepared on the transaction's connection (the bulk
// connection on SQLite), where preparing it in each transaction made
// SQLite parse a statement of hundreds of parameters three times a batch.
type stmtCache struct {
	db *sql.DB
	m  sync.Map // query → *sql.Stmt
}

// stmt returns q prepared, for tx.
func (c *stmtCache) stmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	v, ok := c.m.Load(q)
	if !ok {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		if v, ok = c.m.LoadOrStore(q, st); ok {
			st.Close() // another batch stored it first
		}
	}
	return tx.StmtContext(ctx, v.(*sql.Stmt)), nil
}

// close closes the statements.
func (c *stmtCache) close() {
	c.m.Range(func(q, st any) bool {
		st.(*sql.Stmt).Close()
		c.m.Delete(q)
		return true
	})
}

// exec inserts the rows whose values are args, ncols per row, in chunks of
// bulkRows rows, with one prepared statement (from sc) for the full chunks.
func (b *bulk) exec(ctx context.Context, tx *sql.Tx, sc *stmtCache, qmark bool, args []any) error {
	rows := len(args) / b.ncols
	var stmt *sql.Stmt
	for start := 0; start < rows; start += bulkRows {
		n := min(bulkRows, rows-start)
		chunk := args[start*b.ncols : (start+n)*b.ncols]
		if n == bulkRows {
			if stmt == nil {
				var err error
				if stmt, err = sc.stmt(ctx, tx, b.sql(n, qmark)); err != nil {
					return err
				}
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

// copier writes rows into a table with PostgreSQL's COPY (much less work
// for the server than multi-row INSERTs: no SQL text to parse, no
// parameters to bind), inside the transaction of the batch.
type copier func(ctx context.Context, table string, cols []string, src pgx.CopyFromSource) error

// sharedBulk is a multi-row INSERT of rows that share the values of some
// columns (the batch's organisation, project, import, time). On SQLite the
// shared values are bound once per statement instead of once per row:
//
//	INSERT INTO t (v1, v2, s1) SELECT column1, column2, ? FROM (VALUES (?, ?), (?, ?)) WHERE true
//
// (anonymous parameters are numbered in the order of the text, so the
// shared values come first). On PostgreSQL the rows are copied with COPY.
type sharedBulk struct {
	table        string
	vars, shared []string
	full         *bulk    // every column per row, "$n" parameters
	cached       sync.Map // rows → SQL text (SQLite)
}

func newSharedBulk(table, vars, shared string) *sharedBulk {
	b := &sharedBulk{table: table, full: newBulk(table, vars+", "+shared, "")}
	for _, c := range strings.Split(vars, ",") {
		b.vars = append(b.vars, strings.TrimSpace(c))
	}
	for _, c := range strings.Split(shared, ",") {
		b.shared = append(b.shared, strings.TrimSpace(c))
	}
	return b
}

func (b *sharedBulk) sql(rows int) string {
	if q, ok := b.cached.Load(rows); ok {
		return q.(string)
	}
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + b.table + " (" + strings.Join(b.vars, ", ") + ", " + strings.Join(b.shared, ", ") + ") SELECT ")
	for i := range b.vars {
		fmt.Fprintf(&sb, "column%d, ", i+1)
	}
	for i := range b.shared {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('?')
	}
	sb.WriteString(" FROM (VALUES ")
	row := "(" + strings.Repeat("?,", len(b.vars)-1) + "?)"
	for r := 0; r < rows; r++ {
		if r > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(row)
	}
	sb.WriteString(") WHERE true")
	q := sb.String()
	b.cached.Store(rows, q)
	return q
}

// insert writes the rows whose own values are args, len(vars) per row,
// each with the shared values: with cp (COPY) when it is not nil, else
// with multi-row INSERTs of bulkRows rows.
func (b *sharedBulk) insert(ctx context.Context, tx *sql.Tx, sc *stmtCache, sqlite bool, cp copier, shared, args []any) error {
	nv := len(b.vars)
	if len(args) == 0 {
		return nil
	}
	if cp != nil {
		return cp(ctx, b.table, b.full.cols, &flatRows{args: args, n: nv, shared: shared})
	}
	if !sqlite {
		all := make([]any, 0, len(args)/nv*(nv+len(shared)))
		for i := 0; i < len(args); i += nv {
			all = append(append(all, args[i:i+nv]...), shared...)
		}
		return b.full.exec(ctx, tx, sc, false, all)
	}
	rows := len(args) / nv
	buf := make([]any, 0, len(shared)+min(rows, bulkRows)*nv)
	var stmt *sql.Stmt
	for start := 0; start < rows; start += bulkRows {
		n := min(bulkRows, rows-start)
		buf = append(append(buf[:0], shared...), args[start*nv:(start+n)*nv]...)
		if n == bulkRows {
			if stmt == nil {
				var err error
				if stmt, err = sc.stmt(ctx, tx, b.sql(n)); err != nil {
					return err
				}
			}
			if _, err := stmt.ExecContext(ctx, buf...); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, b.sql(n), buf...); err != nil {
			return err
		}
	}
	return nil
}

// flatRows is a pgx.CopyFromSource over values laid out n per row, each
// row followed by the shared values.
type flatRows struct {
	args, shared, row []any
	n, i              int
}

func (r *flatRows) Next() bool {
	if r.i*r.n >= len(r.args) {
		return false
	}
	r.i++
	return true
}

// Values returns the current row; pgx encodes it before asking for the
// next, so one slice serves every row.
func (r *flatRows) Values() ([]any, error) {
	r.row = append(append(r.row[:0], r.args[(r.i-1)*r.n:r.i*r.n]...), r.shared...)
	return r.row, nil
}

func (r *flatRows) Err() error { return nil }

// copyTx runs fn in a transaction on one PostgreSQL connection, with a
// copier that runs COPY on the same connection (so in the transaction),
// committing when fn returns nil.
func (s *Store) copyTx(ctx context.Context, fn func(tx *sql.Tx, cp copier) error) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	cp := func(ctx context.Context, table string, cols []string, src pgx.CopyFromSource) error {
		return c.Raw(func(dc any) error {
			pc, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("COPY needs a pgx connection, not %T", dc)
			}
			_, err := pc.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, src)
			return err
		})
	}
	if err := fn(tx, cp); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// The rows of an import batch. Columns left out take their defaults
// (probe_error ”, version 1, updated_by ”, …).
var (
	assetInsert = newSharedBulk("assets", "id, external_id, type, data, doc, storage_id, probe_state", "org_id, project_id, import_id, created_at")
	taskInsert  = newSharedBulk("tasks", "id, asset_id, answer", "org_id, project_id, stage_id, created_at, updated_at")
	// The links of new assets cannot conflict (insertAssets leaves out
	// repeated batches of an asset).
	linkInsert  = newBulk("asset_batches", "batch_id, asset_id", "")
	errorInsert = newBulk("import_errors", "import_id, seq, item_index, line, path, message", "")
	seenInsert  = newBulk("import_seen", "import_id, external_id", "ON CONFLICT DO NOTHING")
)

// inList returns the placeholders of an IN list of n values that are the
// statement's arguments from from on: placeholders(from, n) on
// PostgreSQL, "?, ?, …" on SQLite. There a "$n" is a named parameter,
// which the driver looks up by a linear scan of the statement's names at
// every bind: an IN list of 1000 costs a million steps a query (5% of an
// export's CPU, in pages of 1000). A "?" takes the number after the
// highest before it, so the list must follow $1 … $from-1.
func (s *Store) inList(from, n int) string {
	if s.postgres {
		return placeholders(from, n)
	}
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

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

// walCheckpointer copies the WAL of a SQLite database into the database
// file on a pool connection, in the background, after each import batch:
// the bulk connection's commits then find the frames already copied when
// they reach wal_autocheckpoint (bulkCheckpointPages), so that work leaves
// the import's writer (the serial part of an import) for the other cores.
// The WAL still restarts as before: the writer's own checkpoint, now with
// little left to copy, completes it. The goroutine ends after a second
// without batches.
type walCheckpointer struct {
	mu      sync.Mutex
	running bool
	kicked  bool
	closed  bool
	done    chan struct{} // closed when the running goroutine ends
}

// checkpointSoon asks for a passive checkpoint of s's WAL.
func (s *Store) checkpointSoon() {
	if s.postgres {
		return
	}
	c := &s.ckpt
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kicked = true
	if c.running || c.closed {
		return
	}
	c.running = true
	c.done = make(chan struct{})
	go s.checkpointLoop(c.done)
}

// close stops the goroutine and waits for it.
func (c *walCheckpointer) close() {
	c.mu.Lock()
	c.closed = true
	done := c.done
	if !c.running {
		done = nil
	}
	c.mu.Unlock()
	if done != nil {
		<-done
	}
}

func (s *Store) checkpointLoop(done chan struct{}) {
	defer close(done)
	c := &s.ckpt
	idle := time.Now()
	for {
		c.mu.Lock()
		kicked := c.kicked && !c.closed
		c.kicked = false
		if c.closed || !kicked && time.Since(idle) > time.Second {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if !kicked {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		idle = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		// PASSIVE never waits for readers or the writer; an error (a
		// checkpoint already running) only skips a turn.
		_, _ = s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		cancel()
	}
}
