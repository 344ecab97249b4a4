package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/testservers"
)

// TestDeleteProjectDeletesItsRows: deleting a project deletes its assets,
// tasks, task history and batch links (on PostgreSQL these have no
// foreign key to cascade along) and nothing of another project.
func TestDeleteProjectDeletesItsRows(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			ctx := context.Background()
			driver, dsn := "sqlite", filepath.Join(t.TempDir(), "test.db")
			if db == "postgres" {
				driver, dsn = "pgx", testservers.Postgres(t)
			}
			s := open(t, dsn)
			raw, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			gone := newImportFixture(t, s)
			kept := &importFixture{s: s, org: gone.org, userID: gone.userID}
			name := "kept"
			if kept.project, err = s.CreateProject(ctx, gone.org.ID, gone.userID, labelhub.ProjectInput{Name: &name}); err != nil {
				t.Fatal(err)
			}
			b, err := s.CreateBatch(ctx, gone.org.ID, kept.project.ID, "k")
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				fx    *importFixture
				batch string
			}{{gone, gone.batches[0]}, {kept, b.ID}} {
				im := f.fx.start(t, labelhub.ImportKindAssets, labelhub.DuplicateAllow)
				if _, err := s.CommitImportBatch(ctx, f.fx.batch(im, newAssets(0, 120, "v1", f.batch))); err != nil {
					t.Fatal(err)
				}
			}
			// A task of each project answered and submitted: one history entry each.
			admin, err := s.GetUser(ctx, gone.org.ID, gone.userID)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{gone.project.ID, kept.project.ID} {
				list, err := s.ListTasks(ctx, gone.org.ID, p, labelhub.TaskFilter{Limit: 1})
				if err != nil || len(list) != 1 {
					t.Fatalf("tasks of %s: %v %v", p, list, err)
				}
				if _, err := s.MoveTask(ctx, gone.org.ID, list[0].ID, admin, labelhub.TaskMove{Action: labelhub.TaskSubmit}); err != nil {
					t.Fatal(err)
				}
			}
			count := func(q, project string) int {
				t.Helper()
				var n int
				if err := raw.QueryRowContext(ctx, q, project).Scan(&n); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				return n
			}
			counts := func(project string) [4]int {
				return [4]int{
					count(`SELECT COUNT(*) FROM assets WHERE project_id = $1`, project),
					count(`SELECT COUNT(*) FROM tasks WHERE project_id = $1`, project),
					count(`SELECT COUNT(*) FROM asset_batches WHERE asset_id IN (SELECT id FROM assets WHERE project_id = $1)`, project),
					count(`SELECT COUNT(*) FROM task_history WHERE task_id IN (SELECT id FROM tasks WHERE project_id = $1)`, project),
				}
			}
			if c := counts(gone.project.ID); c != [4]int{120, 120, 120, 1} {
				t.Fatalf("before: assets, tasks, links, history of the project = %v", c)
			}
			if err := s.DeleteProject(ctx, gone.org.ID, gone.project.ID); err != nil {
				t.Fatal(err)
			}
			if c := counts(gone.project.ID); c != [4]int{} {
				t.Fatalf("after the delete: assets, tasks, links, history of the project = %v", c)
			}
			if n := count(`SELECT COUNT(*) FROM asset_batches WHERE asset_id NOT IN (SELECT id FROM assets) AND $1 = $1`, ""); n != 0 {
				t.Fatalf("%d batch links without their asset", n)
			}
			if n := count(`SELECT COUNT(*) FROM task_history WHERE task_id NOT IN (SELECT id FROM tasks) AND $1 = $1`, ""); n != 0 {
				t.Fatalf("%d history entries without their task", n)
			}
			if c := counts(kept.project.ID); c != [4]int{120, 120, 120, 1} {
				t.Fatalf("the other project: assets, tasks, links, history = %v", c)
			}
			if err := s.DeleteProject(ctx, gone.org.ID, gone.project.ID); labelhub.ErrorCode(err) != labelhub.ECodeNotFound {
				t.Fatalf("second delete: %v", err)
			}
		})
	}
}
