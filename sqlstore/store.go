package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/labelhub/labelhub"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQL store. It is safe for concurrent use.
type Store struct {
	db       *sql.DB
	postgres bool
	bulk     bulkConn
	stmts    stmtCache       // see bulk.go
	ckpt     walCheckpointer // see bulk.go
	stats    tableStats      // see stats.go
	// exportSlots bounds the counted exports at once (WriteExportCounted):
	// four, half of SQLite's pool; on PostgreSQL each holds three of its
	// 16 connections, which leaves four for everything else.
	exportSlots chan struct{}
}

// Open connects to dsn and applies pending migrations. A dsn starting with
// postgres:// or postgresql:// selects PostgreSQL; anything else is a
// SQLite file path (an optional "sqlite:" prefix is dropped).
func Open(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{postgres: strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")}
	var err error
	if s.postgres {
		s.db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		s.db.SetMaxOpenConns(16)
		s.db.SetMaxIdleConns(16)
		s.exportSlots = make(chan struct{}, 4)
	} else {
		path := strings.TrimPrefix(dsn, "sqlite:")
		s.db, err = sql.Open("sqlite", "file:"+path+
			"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		s.db.SetMaxOpenConns(8)
		s.exportSlots = make(chan struct{}, 4)
		// Keep them open: database/sql keeps 2 idle by default, and opening
		// a SQLite connection (pragmas, schema) costs more than a query.
		s.db.SetMaxIdleConns(8)
	}
	s.stmts.db = s.db
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	provider, err := newProvider(s.db, s.postgres)
	if err != nil {
		s.db.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	return s, nil
}

// newProvider returns the migrations of db's schema: the SQL files of
// migrations/ and the Go migrations of the database.
func newProvider(db *sql.DB, postgres bool) (*goose.Provider, error) {
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithGoMigrations(goMigrations(postgres)...)}
	if postgres {
		dialect = goose.DialectPostgres
		// Replicas starting together take turns at migrating.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	sub, _ := fs.Sub(migrations, "migrations")
	return goose.NewProvider(dialect, db, sub, opts...)
}

// Close closes the database.
func (s *Store) Close() error {
	s.stats.wg.Wait()
	s.ckpt.close()
	s.bulk.close()
	s.stmts.close()
	return s.db.Close()
}

// Ping reports whether the database answers, for readiness checks.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Dialect names the database in use: "sqlite" or "postgres".
func (s *Store) Dialect() string {
	if s.postgres {
		return "postgres"
	}
	return "sqlite"
}

// tx runs fn in a transaction, committing when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// bulkConn is the one SQLite connection that import batches are written
// on, with a bigger page cache than the pool's connections (SQLite's
// default is 2 MB). SQLite drops a connection's whole page cache when a
// transaction starts after another connection wrote, and freeing a big
// cache is expensive (one madvise per page with modernc.org/sqlite), so
// the other writes of an import job — heartbeats, the batches it creates,
// the uploaded flag — go through the same connection (bulkExec). Measured
// with BenchmarkImport: batches on pool connections with a 32 MB cache
// spent a quarter of the CPU time dropping caches; on this connection
// almost none.
type bulkConn struct {
	mu   sync.Mutex
	conn *sql.Conn
}

// bulkCacheKiB is the page cache of the bulk connection (SQLite's default
// is 2,000 KiB).
const bulkCacheKiB = 32 << 10

// bulkCheckpointPages is the WAL size (in pages) at which a commit on the
// bulk connection checkpoints (SQLite's default is 1,000).
const bulkCheckpointPages = 8000

func (b *bulkConn) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != nil {
		b.conn.Close()
		b.conn = nil
	}
}

// bulkTx runs fn in a transaction on the bulk connection (SQLite) or on
// any connection (PostgreSQL), committing when it returns nil.
func (s *Store) bulkTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.postgres {
		return s.tx(ctx, fn)
	}
	b := &s.bulk
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := s.openBulk(ctx); err != nil {
		return err
	}
	tx, err := b.conn.BeginTx(ctx, nil)
	if err != nil {
		// A broken connection is replaced at the next batch.
		b.conn.Close()
		b.conn = nil
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// openBulk opens the bulk connection if it is not open; s.bulk.mu is held.
func (s *Store) openBulk(ctx context.Context) error {
	b := &s.bulk
	if b.conn != nil {
		return nil
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	for _, q := range []string{fmt.Sprintf("PRAGMA cache_size = -%d", bulkCacheKiB), fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", bulkCheckpointPages)} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			c.Close()
			return err
		}
	}
	b.conn = c
	return nil
}

// bulkExec runs one statement on the bulk connection (SQLite) or the pool
// (PostgreSQL). The other writes of an import job (heartbeats, batches it
// creates) go through it so that they do not make the bulk connection
// drop its page cache.
func (s *Store) bulkExec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s.postgres {
		return s.db.ExecContext(ctx, q, args...)
	}
	b := &s.bulk
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := s.openBulk(ctx); err != nil {
		return nil, err
	}
	res, err := b.conn.ExecContext(ctx, q, args...)
	if errors.Is(err, driver.ErrBadConn) {
		b.conn.Close()
		b.conn = nil
	}
	return res, err
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// isUnique reports whether err is a unique-constraint violation.
func isUnique(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// notFound turns sql.ErrNoRows into a labelhub not-found error.
func notFound(err error, kind string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return labelhub.NotFound(kind)
	}
	return err
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// page runs a keyset query. query must select rows with id greater than
// the cursor's id (passed as the last-but-one argument) ordered by id and
// limited by the last argument; scan reads one row and returns its id.
func page[T any](ctx context.Context, q querier, p labelhub.PageRequest, query string, args []any, scan func(*sql.Rows) (T, string, error)) (labelhub.Page[T], error) {
	limit, after, err := pageBounds(p)
	if err != nil {
		return labelhub.Page[T]{}, err
	}
	rows, err := q.QueryContext(ctx, query, append(args, after, limit+1)...)
	if err != nil {
		return labelhub.Page[T]{}, err
	}
	defer rows.Close()
	out := labelhub.Page[T]{Items: make([]T, 0, min(limit, 64))}
	var lastID string
	for rows.Next() {
		if len(out.Items) == limit {
			out.NextCursor = labelhub.EncodeCursor(lastID)
			break
		}
		item, id, err := scan(rows)
		if err != nil {
			return labelhub.Page[T]{}, err
		}
		out.Items = append(out.Items, item)
		lastID = id
	}
	return out, rows.Err()
}

func pageBounds(p labelhub.PageRequest) (limit int, after string, err error) {
	limit = p.Limit
	if limit == 0 {
		limit = labelhub.DefaultPageLimit
	}
	if limit < 1 || limit > labelhub.MaxPageLimit {
		return 0, "", labelhub.Invalid("invalid page", labelhub.FieldError{Path: "limit", Message: fmt.Sprintf("must be between 1 and %d", labelhub.MaxPageLimit)})
	}
	after, err = labelhub.DecodeCursor(p.Cursor)
	return limit, after, err
}

// runQuerier is what the run writes of plugins.go need of a connection:
// a statement's count of rows and a row. sqlQ is database/sql's; on
// PostgreSQL a batch of the hub runs them in a pgx pipeline instead
// (pipeline.go).
type runQuerier interface {
	exec(ctx context.Context, query string, args ...any) (int64, error)
	row(ctx context.Context, query string, args ...any) rowScanner
}

type rowScanner interface{ Scan(dest ...any) error }

// sqlQ is a runQuerier on a database/sql pool, transaction or connection.
type sqlQ struct{ q querier }

func (s sqlQ) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s sqlQ) row(ctx context.Context, query string, args ...any) rowScanner {
	return s.q.QueryRowContext(ctx, query, args...)
}
