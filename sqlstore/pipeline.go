package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/labelhub/labelhub"
)

// pgPipeline runs the writes of one RunBatch on PostgreSQL: in one
// transaction on one connection, each write in a goroutine of its own,
// and whenever every write not yet done waits on a statement, the
// statements of all of them go to the server together in one pgx batch:
// one round trip for the batch instead of one for each statement of each
// write. A write's own statements stay in its order; the statements of
// different writes interleave, as writes of one batch are independent.
type pgPipeline struct {
	ctx   context.Context
	conn  *pgx.Conn
	begun bool // BEGIN was sent, with the first round

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
}

func (r pipeRow) Scan(dest ...any) error {
	return r.p.wait(&pipeStmt{query: r.query, args: r.args, row: true, dest: dest}).err
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
		if !p.begun {
			p.batch.Queue("BEGIN") // one round trip less than a BEGIN of its own
			p.begun = true
		}
		for _, st := range p.stmts {
			q := p.batch.Queue(st.query, st.args...)
			if st.row {
				q.QueryRow(func(row pgx.Row) error {
					st.ran = true
					st.err = row.Scan(st.dest...)
					if errors.Is(st.err, pgx.ErrNoRows) {
						st.err = sql.ErrNoRows // what the callers compare with
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

// pgRunBatch is RunBatch on PostgreSQL (see pgPipeline).
func (s *Store) pgRunBatch(ctx context.Context, n int, apply func(i int, st labelhub.PluginStore) error) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqlstore: a PostgreSQL connection of type %T", dc)
		}
		p := &pgPipeline{ctx: ctx, conn: sc.Conn(), running: n}
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
