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
		return []*goose.Migration{goose.NewGoMigration(13, nil, nil)}
	}
	return []*goose.Migration{goose.NewGoMigration(13, execAll(pgImportKeysDown...), execAll(pgImportKeysUp...))}
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
