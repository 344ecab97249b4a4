package sqlstore

import (
	"context"
	"testing"

	"github.com/labelhub/labelhub/testservers"
)

// TestBulkGrowthAnalyzes: on PostgreSQL, the rows bulk writes add are
// counted and the tables analyzed once they have grown by
// minAnalyzeRows, or by analyzeGrowth times what was analyzed when that
// is more — not before; on SQLite nothing happens.
func TestBulkGrowthAnalyzes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testservers.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reltuples := func() float64 {
		var n float64
		if err := s.db.QueryRowContext(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'assets'::regclass`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	analyzed := func() int {
		s.stats.wg.Wait()
		s.stats.mu.Lock()
		defer s.stats.mu.Unlock()
		return s.stats.analyzed
	}
	if n := reltuples(); n != -1 {
		t.Fatalf("a new table has reltuples %v, want -1 (never analyzed)", n)
	}
	s.grew(minAnalyzeRows - 1)
	if n := analyzed(); n != 0 || reltuples() != -1 {
		t.Fatalf("analyzed %d times below the threshold", n)
	}
	s.grew(1)
	if n := analyzed(); n != 1 || reltuples() != 0 {
		t.Fatalf("analyzed %d times at the threshold; reltuples %v", n, reltuples())
	}
	// Then once the rows added are analyzeGrowth times those analyzed:
	// 1,000 analyzed, the next at +3,000; 4,000, the next at +12,000.
	for _, base := range []int{minAnalyzeRows, (1 + analyzeGrowth) * minAnalyzeRows} {
		want := analyzed() + 1
		s.grew(base*analyzeGrowth - 1)
		if n := analyzed(); n != want-1 {
			t.Fatalf("base %d: analyzed %d times before %d times the base was added", base, n, analyzeGrowth)
		}
		s.grew(1)
		if n := analyzed(); n != want {
			t.Fatalf("base %d: analyzed %d times, want %d", base, n, want)
		}
	}

	lite, err := Open(ctx, t.TempDir()+"/test.db")
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	lite.grew(10 * minAnalyzeRows)
	lite.stats.wg.Wait()
	if lite.stats.analyzed != 0 {
		t.Fatal("SQLite was analyzed")
	}
}
