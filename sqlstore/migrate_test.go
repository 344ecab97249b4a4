package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/testservers"
)

// TestMigrateLinksKeepRows migrates a database with assets, tasks and
// batch links from version 15 (links with a project_id) to the latest
// version and back, and checks that every row is still there: the links
// are rebuilt by copy on SQLite, with foreign keys on as the store runs.
func TestMigrateLinksKeepRows(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testMigrateLinks(t, filepath.Join(t.TempDir(), "old.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		testMigrateLinks(t, testservers.Postgres(t))
	})
}

func testMigrateLinks(t *testing.T, dsn string) {
	ctx := context.Background()
	postgres := strings.HasPrefix(dsn, "postgres://")
	driver, name := "sqlite", "file:"+dsn+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	if postgres {
		driver, name = "pgx", dsn
	}
	db, err := sql.Open(driver, name)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	p, err := newProvider(db, postgres)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO organizations (id, name, created_at) VALUES ('o1', 'org', 1)`)
	for _, pr := range []string{"p1", "p2"} {
		exec(`INSERT INTO projects (id, org_id, name, category_schema, created_by, created_at, updated_at) VALUES ($1, 'o1', $1, '{}', 'u', 1, 1)`, pr)
		for _, b := range []string{"b1", "b2"} {
			exec(`INSERT INTO batches (id, org_id, project_id, name, created_at) VALUES ($1, 'o1', $2, $3, 1)`, pr+b, pr, b)
		}
	}
	const n = 300
	for i := 0; i < n; i++ {
		pr := []string{"p1", "p2"}[i%2]
		a, tk := labelhub.NewID(), labelhub.NewID()
		exec(`INSERT INTO assets (id, org_id, project_id, external_id, type, data, doc, import_id, created_at) VALUES ($1, 'o1', $2, $3, 'image', $4, '{}', 'im', $5)`,
			a, pr, fmt.Sprint("img-", i), fmt.Sprint("https://example.com/", i), i)
		exec(`INSERT INTO tasks (id, org_id, project_id, asset_id, stage_id, created_at, updated_at) VALUES ($1, 'o1', $2, $3, 'start', $4, $4)`, tk, pr, a, i)
		exec(`INSERT INTO asset_batches (batch_id, asset_id, project_id) VALUES ($1, $2, $3)`, pr+"b1", a, pr)
		if i%3 == 0 {
			exec(`INSERT INTO asset_batches (batch_id, asset_id, project_id) VALUES ($1, $2, $3)`, pr+"b2", a, pr)
		}
	}
	rows := func(q string) []string {
		t.Helper()
		r, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer r.Close()
		var out []string
		for r.Next() {
			var a, b string
			if err := r.Scan(&a, &b); err != nil {
				t.Fatal(err)
			}
			out = append(out, a+" "+b)
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	const (
		linksQ   = `SELECT batch_id, asset_id FROM asset_batches ORDER BY batch_id, asset_id`
		projectQ = `SELECT ab.asset_id, ab.project_id FROM asset_batches ab ORDER BY ab.asset_id, ab.batch_id`
		assetsQ  = `SELECT id, project_id || ' ' || external_id || ' ' || data FROM assets ORDER BY id`
		tasksQ   = `SELECT id, asset_id || ' ' || project_id || ' ' || stage_id FROM tasks ORDER BY id`
	)
	links, projects, assets, tasks := rows(linksQ), rows(projectQ), rows(assetsQ), rows(tasksQ)
	if len(links) != n+n/3 || len(assets) != n || len(tasks) != n {
		t.Fatalf("%d links, %d assets, %d tasks before migrating", len(links), len(assets), len(tasks))
	}
	same := func(when string) {
		t.Helper()
		if got := rows(linksQ); !reflect.DeepEqual(got, links) {
			t.Fatalf("%s: links differ: %d rows, want %d", when, len(got), len(links))
		}
		if got := rows(assetsQ); !reflect.DeepEqual(got, assets) {
			t.Fatalf("%s: assets differ", when)
		}
		if got := rows(tasksQ); !reflect.DeepEqual(got, tasks) {
			t.Fatalf("%s: tasks differ", when)
		}
	}

	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	same("after migrating up")
	if postgres {
		// The column stays, nullable: a replica still on version 15
		// writes it, as a link of a batch of its own here.
		a := strings.Fields(assets[0])
		exec(`INSERT INTO batches (id, org_id, project_id, name, created_at) VALUES ('b3', 'o1', $1, 'b3', 1)`, a[1])
		exec(`INSERT INTO asset_batches (batch_id, asset_id, project_id) VALUES ('b3', $1, $2)`, a[0], a[1])
		exec(`DELETE FROM asset_batches WHERE batch_id = 'b3'`)
		exec(`DELETE FROM batches WHERE id = 'b3'`)
	} else {
		var cols int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('asset_batches') WHERE name = 'project_id'`).Scan(&cols); err != nil || cols != 0 {
			t.Fatalf("asset_batches.project_id is still there (%d, %v)", cols, err)
		}
	}

	// The store reads the migrated rows.
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := s.ListAssets(ctx, "o1", "p2", labelhub.AssetFilter{BatchID: "p2b2"}, labelhub.PageRequest{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if want := n / 6; len(pg.Items) != want {
		t.Errorf("batch p2b2 lists %d assets, want %d", len(pg.Items), want)
	}
	for _, a := range pg.Items {
		if !reflect.DeepEqual(a.Batches, []string{"b1", "b2"}) {
			t.Errorf("asset %s has batches %v", a.ID, a.Batches)
		}
	}
	s.Close()

	// And back: the project of each link is its asset's.
	if _, err := p.DownTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	same("after migrating down")
	if got := rows(projectQ); !reflect.DeepEqual(got, projects) {
		t.Fatalf("after migrating down, the links' projects differ")
	}
}
