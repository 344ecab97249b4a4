package sqlstore

import (
	"context"
	"database/sql"

	"github.com/pressly/goose/v3"
)

// goMigrations are the migrations that differ by database, run in
// version order with the SQL files of migrations/. On SQLite each is
// registered as a no-op, so both databases count the same versions.
func goMigrations(postgres bool) []*goose.Migration {
	if !postgres {
		return []*goose.Migration{
			goose.NewGoMigration(13, nil, nil),
			goose.NewGoMigration(15, execAll(sqliteLinksByAsset...), execAll(sqliteLinksByBatch...)),
			goose.NewGoMigration(16, execAll(sqliteLinksUp...), execAll(sqliteLinksDown...)),
			goose.NewGoMigration(17, execAll(`DROP INDEX tasks_updated_at`), execAll(`CREATE INDEX tasks_updated_at ON tasks(project_id, updated_at)`)),
			goose.NewGoMigration(19, execAll(`DROP INDEX assets_import`), execAll(`CREATE INDEX assets_import ON assets(import_id)`)),
		}
	}
	return []*goose.Migration{
		goose.NewGoMigration(13, execAll(pgImportKeysDown...), execAll(pgImportKeysUp...)),
		goose.NewGoMigration(15, nil, nil),
		goose.NewGoMigration(16, execAll(pgLinksUp...), execAll(pgLinksDown...)),
		goose.NewGoMigration(17, nil, nil),
		goose.NewGoMigration(19, nil, nil),
	}
}

// Migration 13 on PostgreSQL drops the foreign keys that every imported
// row checks: tasks.asset_id and asset_batches.asset_id (to assets) and
// assets.project_id (to projects). PostgreSQL checks a foreign key with a
// trigger per inserted row that locks the referenced row (SELECT … FOR
// KEY SHARE): in a bulk import that is an index lookup and a row lock
// written to the WAL per asset, task and batch link, about a third of
// the server's work on an import (docs/performance.md). The store alone
// writes these rows (an import batch writes an asset with its task and
// links in one transaction, with ids it made), and DeleteProject and an
// import's rollback delete them explicitly, so nothing relied on the
// keys but the cascade of a project's deletion. SQLite keeps them: its
// checks are cheap.
var (
	pgImportKeysDown = []string{
		`ALTER TABLE tasks DROP CONSTRAINT IF EXISTS tasks_asset_id_fkey`,
		`ALTER TABLE asset_batches DROP CONSTRAINT IF EXISTS asset_batches_asset_id_fkey`,
		`ALTER TABLE assets DROP CONSTRAINT IF EXISTS assets_project_id_fkey`,
	}
	pgImportKeysUp = []string{
		`ALTER TABLE assets ADD CONSTRAINT assets_project_id_fkey FOREIGN KEY (project_id) REFERENCES projects(id) ON DELETE CASCADE`,
		`ALTER TABLE asset_batches ADD CONSTRAINT asset_batches_asset_id_fkey FOREIGN KEY (asset_id) REFERENCES assets(id) ON DELETE CASCADE`,
		`ALTER TABLE tasks ADD CONSTRAINT tasks_asset_id_fkey FOREIGN KEY (asset_id) REFERENCES assets(id) ON DELETE CASCADE`,
	}
)

// Migration 15 on SQLite keeps asset_batches as a table without rowid,
// keyed by (asset_id, batch_id), with an index on batch_id: two B-trees
// where there were three (the rows, the key (batch_id, asset_id) and an
// index on asset_id), so a batch link costs an import two B-tree inserts
// instead of three. The key serves every lookup by asset (an export's
// batch names, the batch filter's EXISTS, cascades and rollbacks) and the
// index the lookups by batch. PostgreSQL keeps its table: a heap has no
// such form.
var (
	sqliteLinksByAsset = []string{
		`CREATE TABLE asset_batches_new (
			batch_id   TEXT NOT NULL,
			asset_id   TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
			project_id TEXT NOT NULL,
			PRIMARY KEY (asset_id, batch_id)
		) WITHOUT ROWID`,
		`INSERT INTO asset_batches_new (batch_id, asset_id, project_id) SELECT batch_id, asset_id, project_id FROM asset_batches`,
		`DROP TABLE asset_batches`,
		`ALTER TABLE asset_batches_new RENAME TO asset_batches`,
		`CREATE INDEX asset_batches_batch ON asset_batches(batch_id)`,
	}
	sqliteLinksByBatch = []string{
		`CREATE TABLE asset_batches_old (
			batch_id   TEXT NOT NULL,
			asset_id   TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
			project_id TEXT NOT NULL,
			PRIMARY KEY (batch_id, asset_id)
		)`,
		`INSERT INTO asset_batches_old (batch_id, asset_id, project_id) SELECT batch_id, asset_id, project_id FROM asset_batches`,
		`DROP TABLE asset_batches`,
		`ALTER TABLE asset_batches_old RENAME TO asset_batches`,
		`CREATE INDEX asset_batches_asset ON asset_batches(asset_id)`,
	}
)

// Migration 16 drops asset_batches.project_id, which every batch link
// of an import wrote and nothing read (a link is found by its asset or
// its batch): 27 bytes less per link row. On SQLite the table is rebuilt
// by copy, as in migration 15. On PostgreSQL the column stays, nullable,
// and the store leaves it NULL (no bytes in the row): replicas still on
// the previous version, which write it, keep working while the others
// are upgraded; a later migration can drop it. Down fills the column
// again from the links' assets.
var (
	sqliteLinksUp = []string{
		`CREATE TABLE asset_batches_new (
			batch_id TEXT NOT NULL,
			asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
			PRIMARY KEY (asset_id, batch_id)
		) WITHOUT ROWID`,
		`INSERT INTO asset_batches_new (batch_id, asset_id) SELECT batch_id, asset_id FROM asset_batches`,
		`DROP TABLE asset_batches`,
		`ALTER TABLE asset_batches_new RENAME TO asset_batches`,
		`CREATE INDEX asset_batches_batch ON asset_batches(batch_id)`,
	}
	sqliteLinksDown = []string{
		`CREATE TABLE asset_batches_old (
			batch_id   TEXT NOT NULL,
			asset_id   TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
			project_id TEXT NOT NULL,
			PRIMARY KEY (asset_id, batch_id)
		) WITHOUT ROWID`,
		`INSERT INTO asset_batches_old (batch_id, asset_id, project_id)
			SELECT ab.batch_id, ab.asset_id, a.project_id FROM asset_batches ab JOIN assets a ON a.id = ab.asset_id`,
		`DROP TABLE asset_batches`,
		`ALTER TABLE asset_batches_old RENAME TO asset_batches`,
		`CREATE INDEX asset_batches_batch ON asset_batches(batch_id)`,
	}
	pgLinksUp   = []string{`ALTER TABLE asset_batches ALTER COLUMN project_id DROP NOT NULL`}
	pgLinksDown = []string{
		`UPDATE asset_batches ab SET project_id = a.project_id FROM assets a WHERE a.id = ab.asset_id AND ab.project_id IS NULL`,
		`ALTER TABLE asset_batches ALTER COLUMN project_id SET NOT NULL`,
	}
)

// Migration 17 drops the index tasks_updated_at on SQLite, one B-tree
// insert fewer for every imported task. SQLite plans without statistics
// and never picks it for a page of tasks or of an export (they run in id
// order on tasks_project and test the times on each row); it served only
// the count of an export with updatedAfter/updatedBefore, which now reads
// the project's tasks as the export's pages do (about 1 µs a task).
// PostgreSQL keeps it: its planner uses it for a narrow time range.

// Migration 19 drops the index assets_import on SQLite, one B-tree insert
// fewer for every imported asset (a twelfth of an import's, and 30-odd
// bytes an asset written twice, to the WAL and to the database). It
// served only the rollback of an import, which now finds the import's
// assets among its project's made since it started (their ids are
// ordered by creation: DeleteImportAssets, on assets_project). PostgreSQL
// keeps it: its import copies rows, and what the index costs it there
// was not measured.

// execAll is a migration step that runs the statements in order in its
// transaction.
func execAll(stmts ...string) *goose.GoFunc {
	return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}}
}
