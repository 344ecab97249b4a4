package sqlstore

import (
	"context"
	"sync"
	"time"
)

// PostgreSQL plans queries from table statistics, which only ANALYZE
// (or autovacuum, when it is on and gets to it) writes. A bulk import
// into an empty project makes them badly wrong within seconds: a plan
// chosen while the assets table had a few rows (and cached by the
// prepared statement) scans every row of the project for each batch's
// duplicate check, so an import slows down with its own size. The store
// therefore analyzes the tables that bulk writes grow itself, whenever
// they have grown to four times the rows of the statistics it last saw;
// ANALYZE samples a bounded number of rows and invalidates the cached
// plans. Between two, the planner scales the analyzed row count by the
// table's current size, so the estimates grow with the table; what goes
// stale is the distribution of values.

// minAnalyzeRows is the growth that first triggers an ANALYZE.
const minAnalyzeRows = 1000

// analyzeGrowth is the next ANALYZE's growth, in multiples of the rows
// the last one saw. Each one costs the server a sample of the tables
// while an import copies into them: growing by half each time, a
// 100,000-object folder import on PostgreSQL ran nine, which took
// 1–1.5 s of the server's CPU against the import's 3–4 s; growing to
// four times, three or four (docs/performance.md).
const analyzeGrowth = 3

// tableStats tracks the rows the store added to the assets and tasks
// tables since their last ANALYZE.
type tableStats struct {
	mu       sync.Mutex
	known    bool  // base read from pg_class
	base     int64 // rows at the last ANALYZE (as PostgreSQL estimated them)
	added    int64 // rows added since
	running  bool
	analyzed int // ANALYZE runs, for tests
	wg       sync.WaitGroup
}

// grew notes n rows added to assets (and their tasks) and, on
// PostgreSQL, starts an ANALYZE in the background once they have grown
// enough. Only one runs at a time; errors are left to the next growth.
func (s *Store) grew(n int) {
	if !s.postgres || n <= 0 {
		return
	}
	st := &s.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	st.added += int64(n)
	if st.running || st.added < max(minAnalyzeRows, st.base*analyzeGrowth) {
		return
	}
	st.running = true
	st.wg.Add(1)
	go s.analyze()
}

func (s *Store) analyze() {
	st := &s.stats
	defer st.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st.mu.Lock()
	known := st.known
	st.mu.Unlock()
	if !known {
		// Statistics written before this process started (or by
		// autovacuum) count: a big table needs no ANALYZE for a few rows.
		var tuples float64
		if err := s.db.QueryRowContext(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'assets'::regclass`).Scan(&tuples); err == nil {
			st.mu.Lock()
			st.known, st.base = true, max(0, int64(tuples))
			skip := st.added < max(minAnalyzeRows, st.base*analyzeGrowth)
			if skip {
				st.running = false
			}
			st.mu.Unlock()
			if skip {
				return
			}
		}
	}
	st.mu.Lock()
	counted := st.added // rows added while ANALYZE runs count towards the next
	st.mu.Unlock()
	_, err := s.db.ExecContext(ctx, `ANALYZE assets, tasks`)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.running = false
	if err == nil {
		st.base += counted
		st.added -= counted
		st.analyzed++
	}
}
