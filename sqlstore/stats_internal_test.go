package sqlstore

import (
	"context"
	"testing"

	"github.com/labelhub/labelhub/testservers"
)

// TestBulkGrowthAnalyzes: on PostgreSQL, the rows bulk writes add are
// counted and the tables analyzed once they have grown by
// minAnalyzeRows, or by half of what was analyzed when that is more —
// not before; on SQLite nothing happens.
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
	// Then at minAnalyzeRows more until half the rows analyzed is more.
	s.grew(minAnalyzeRows - 1)
	if n := analyzed(); n != 1 {
		t.Fatalf("analyzed %d times before the next step", n)
	}
	s.grew(1)
	analyzed()
	s.grew(minAnalyzeRows)
	if n := analyzed(); n != 3 {
		t.Fatalf("analyzed %d times, want 3", n)
	}
	s.grew(minAnalyzeRows) // base 3,000: the next at +1,500
	if n := analyzed(); n != 3 {
		t.Fatalf("analyzed %d times before half of the base was added", n)
	}
	s.grew(minAnalyzeRows / 2)
	if n := analyzed(); n != 4 {
		t.Fatalf("analyzed %d times, want 4", n)
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
