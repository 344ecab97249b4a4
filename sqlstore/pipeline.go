package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/labelhub/labelhub"
)

// pgPipeline runs the writes of one RunBatch on PostgreSQL: in one
// transaction on one connection, each write in a goroutine of its own,
// and whenever every write not yet done waits on a statement, the
// statements of all of them go to the server together in one pgx batch:
// one round trip for the batch instead of one for each statement of each
// write. A write's own statements stay in its order; the statements of
// different writes interleave, as writes of one batch are independent.
//
// When every statement of a round is the last change of the last call of
// its write (final on a pipeLastCall), no write will change anything
// after that round: the COMMIT goes with it, and the batch takes one
// round trip. A write that fails then has changed nothing (that is what
// final promises), and fails alone: the others are committed. Whatever a
// write still asks after the COMMIT (the reads of createRunRow that say
// why it stored nothing) runs in a read-only transaction.
type pgPipeline struct {
	ctx       context.Context
	conn      *pgx.Conn
	begun     bool // BEGIN was sent, with the first round
	committed bool // the COMMIT went through, with a round
	readOnly  bool // BEGIN READ ONLY was sent after the COMMIT

	mu      sync.Mutex
	running int         // writes not done
	queued  []*pipeStmt // one for each waiting write
	failed  error       // once a round failed, every later statement fails with it
	batch   pgx.Batch   // reused from round to round
	stmts   []*pipeStmt // the round being sent, reused
}

// A pipeStmt is a statement a write waits on.
type pipeStmt struct {
	query string
	args  []any
	dest  []any // for a row; nil for a count
	row   bool
	last  bool // the last change of its write (final)
	rows  int64
	err   error
	ran   bool
	done  chan struct{}
}

func (p *pgPipeline) exec(ctx context.Context, query string, args ...any) (int64, error) {
	st := p.wait(&pipeStmt{query: query, args: args})
	return st.rows, st.err
}

func (p *pgPipeline) row(ctx context.Context, query string, args ...any) rowScanner {
	return pipeRow{p: p, query: query, args: args}
}

type pipeRow struct {
	p     *pgPipeline
	query string
	args  []any
	last  bool
}

func (r pipeRow) Scan(dest ...any) error {
	return r.p.wait(&pipeStmt{query: r.query, args: r.args, row: true, dest: dest, last: r.last}).err
}

// pipeLastCall is the pipeline for the last store call of a write
// (batchStore.LastCall): its statements are ordinary, but final makes
// one the write's last change.
type pipeLastCall struct{ *pgPipeline }

// pipeFinal runs the last change of a write.
type pipeFinal struct{ p *pgPipeline }

func (f pipeFinal) exec(ctx context.Context, query string, args ...any) (int64, error) {
	st := f.p.wait(&pipeStmt{query: query, args: args, last: true})
	return st.rows, st.err
}

func (f pipeFinal) row(ctx context.Context, query string, args ...any) rowScanner {
	return pipeRow{p: f.p, query: query, args: args, last: true}
}

// final returns q for the statement that ends the changes of a run write:
// the write changes nothing after it, and when the write fails all the
// same, the statement changed nothing (a row it did not find). When q is
// the last call of a write in a pipelined batch, the batch's COMMIT may
// go with that statement; elsewhere final(q) is q.
func final(q runQuerier) runQuerier {
	if lc, ok := q.(pipeLastCall); ok {
		return pipeFinal{lc.pgPipeline}
	}
	return q
}

// wait queues a statement and returns once its round was sent.
func (p *pgPipeline) wait(st *pipeStmt) *pipeStmt {
	st.done = make(chan struct{})
	p.mu.Lock()
	p.queued = append(p.queued, st)
	p.sendIfAllWait()
	p.mu.Unlock()
	<-st.done
	return st
}

// writeDone is called when a write returns.
func (p *pgPipeline) writeDone() {
	p.mu.Lock()
	p.running--
	p.sendIfAllWait()
	p.mu.Unlock()
}

// sendIfAllWait sends the queued statements when every running write
// waits on one; p.mu is held (the writes are all waiting, so holding it
// over the round trip stops nobody).
func (p *pgPipeline) sendIfAllWait() {
	if len(p.queued) == 0 || len(p.queued) < p.running {
		return
	}
	p.stmts = append(p.stmts[:0], p.queued...)
	p.queued = p.queued[:0]
	if p.failed == nil {
		p.batch.QueuedQueries = p.batch.QueuedQueries[:0]
		first := !p.begun
		switch {
		case !p.begun:
			p.batch.Queue("BEGIN") // one round trip less than a BEGIN of its own
			p.begun = true
		case p.committed && !p.readOnly:
			p.batch.Queue("BEGIN READ ONLY")
			p.readOnly = true
		}
		if first {
			sortLocks(p.stmts)
		}
		last := !p.committed
		for _, st := range p.stmts {
			last = last && st.last
			q := p.batch.Queue(st.query, st.args...)
			if st.row {
				q.QueryRow(func(row pgx.Row) error {
					st.ran = true
					st.err = row.Scan(st.dest...)
					if errors.Is(st.err, pgx.ErrNoRows) {
						st.err = sql.ErrNoRows // what the callers compare with
						return nil
					}
					var pe *pgconn.PgError
					if st.err != nil && !errors.As(st.err, &pe) && !p.conn.IsClosed() {
						// Scan's own error: the server went on, and so
						// does the round (its COMMIT may follow).
						return nil
					}
					return st.err
				})
			} else {
				q.Exec(func(ct pgconn.CommandTag) error {
					st.ran = true
					st.rows = ct.RowsAffected()
					return nil
				})
			}
		}
		if last {
			// Every write waits on its last change: nothing follows.
			p.batch.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error {
				p.committed = ct.String() == "COMMIT"
				return nil
			})
		}
		if err := p.conn.SendBatch(p.ctx, &p.batch).Close(); err != nil {
			p.failed = err
		}
	}
	for _, st := range p.stmts {
		if !st.ran {
			st.err = p.failed
		}
		close(st.done)
	}
	clear(p.stmts)
}

// ConcurrentBatches is how many batches of the plugin hub commit at once
// (pluginhub): two on PostgreSQL, each a transaction on a connection of
// its own, so that the server works on one batch while the other travels;
// one on SQLite, whose writes take one lock anyway. The hub keeps a run's
// writes in order across the two (pluginhub.Hub.inOrder).
func (s *Store) ConcurrentBatches() int {
	if s.postgres {
		return 2
	}
	return 1
}

// advisoryLock starts the statement of createRunRow that takes the
// advisory lock of the queued runs of a plugin.
const advisoryLock = `SELECT pg_advisory_xact_lock(`

// sortLocks puts the advisory locks of a round first, by key. They are
// the first statements of their writes, so all in a batch's first round:
// every batch takes its locks in the same order, and two batches
// committing at once (ConcurrentBatches) cannot deadlock on them.
func sortLocks(stmts []*pipeStmt) {
	slices.SortStableFunc(stmts, func(a, b *pipeStmt) int {
		al, bl := strings.HasPrefix(a.query, advisoryLock), strings.HasPrefix(b.query, advisoryLock)
		switch {
		case al && bl:
			return cmp.Compare(fmt.Sprint(a.args...), fmt.Sprint(b.args...))
		case al:
			return -1
		case bl:
			return 1
		}
		return 0
	})
}

// pgRunBatch is RunBatch on PostgreSQL (see pgPipeline).
func (s *Store) pgRunBatch(ctx context.Context, n int, apply func(i int, st labelhub.PluginStore) error) error {
	return s.withPgx(ctx, func(conn *pgx.Conn) error {
		p := &pgPipeline{ctx: ctx, conn: conn, running: n}
		bs := &batchStore{Store: s, q: p}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer p.writeDone()
				errs[i] = apply(i, bs)
			}()
		}
		wg.Wait()
		if p.committed {
			if p.readOnly {
				if _, err := p.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
					return errors.Join(committedWithErrors(errs), driver.ErrBadConn)
				}
			}
			return committedWithErrors(errs)
		}
		err := p.failed
		for _, e := range errs {
			if e != nil {
				err = e
				break
			}
		}
		switch {
		case !p.begun:
			return err // nothing was sent
		case err != nil:
			if _, rerr := p.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				return errors.Join(err, driver.ErrBadConn) // database/sql drops the connection
			}
			return err
		}
		_, err = p.conn.Exec(ctx, "COMMIT")
		return err
	})
}

// WriteErrors is the error of a batch that committed although some of its
// writes failed, each having changed nothing (see pgPipeline): the error
// of each write, nil for those committed (pluginhub.BatchStore).
type WriteErrors []error

func (e WriteErrors) Error() string {
	n, first := 0, error(nil)
	for _, err := range e {
		if err != nil {
			if n == 0 {
				first = err
			}
			n++
		}
	}
	return fmt.Sprintf("%d of %d writes failed, the others committed: %v", n, len(e), first)
}

// WriteErrors returns the error of each write.
func (e WriteErrors) WriteErrors() []error { return e }

func (e WriteErrors) Unwrap() []error { return e }

// committedWithErrors is nil when every write succeeded, else errs as
// WriteErrors.
func committedWithErrors(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return WriteErrors(errs)
		}
	}
	return nil
}
