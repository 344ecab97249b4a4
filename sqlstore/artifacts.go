package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/labelhub/labelhub"
)

const artifactColumns = `run_id, org_id, blob_key, name, size, content_type, created_at, expires_at, expired_at`

func scanArtifact(row interface{ Scan(...any) error }) (labelhub.RunArtifact, error) {
	var a labelhub.RunArtifact
	var created, expires int64
	var expired sql.NullInt64
	err := row.Scan(&a.RunID, &a.OrgID, &a.Key, &a.Name, &a.Size, &a.ContentType, &created, &expires, &expired)
	a.CreatedAt, a.ExpiresAt, a.Expired = fromMicros(created), fromMicros(expires), expired.Valid
	return a, err
}

// SetRunArtifact implements labelhub.RunArtifactStore. The run's row is
// read in the same transaction (locked on PostgreSQL; SQLite transactions
// take the write lock up front), so an artifact is never recorded for a run
// that has already ended.
func (s *Store) SetRunArtifact(ctx context.Context, a labelhub.RunArtifact) (labelhub.RunArtifact, bool, error) {
	var prev labelhub.RunArtifact
	replaced := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		lock := ""
		if s.postgres {
			lock = " FOR UPDATE"
		}
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM plugin_runs WHERE org_id = $1 AND id = $2`+lock, a.OrgID, a.RunID).Scan(&state)
		if err != nil {
			return notFound(err, "run")
		}
		if labelhub.RunState(state) != labelhub.RunRunning {
			return labelhub.Errorf(labelhub.ECodeConflict, "the run is %s; a result file can be uploaded only while it is running", state)
		}
		prev, err = scanArtifact(tx.QueryRowContext(ctx, `SELECT `+artifactColumns+` FROM plugin_run_artifacts WHERE run_id = $1`, a.RunID))
		switch {
		case err == nil:
			replaced = true
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO plugin_run_artifacts (`+artifactColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)
			ON CONFLICT (run_id) DO UPDATE SET blob_key = excluded.blob_key, name = excluded.name, size = excluded.size,
			content_type = excluded.content_type, created_at = excluded.created_at, expires_at = excluded.expires_at, expired_at = NULL`,
			a.RunID, a.OrgID, a.Key, a.Name, a.Size, a.ContentType, micros(a.CreatedAt), micros(a.ExpiresAt))
		return err
	})
	if err != nil {
		return labelhub.RunArtifact{}, false, err
	}
	return prev, replaced, nil
}

// GetRunArtifact implements labelhub.RunArtifactStore.
func (s *Store) GetRunArtifact(ctx context.Context, orgID, runID string) (labelhub.RunArtifact, error) {
	a, err := scanArtifact(s.db.QueryRowContext(ctx, `SELECT `+artifactColumns+` FROM plugin_run_artifacts WHERE org_id = $1 AND run_id = $2`, orgID, runID))
	return a, notFound(err, "artifact")
}

// ExpiredRunArtifacts implements labelhub.RunArtifactStore.
func (s *Store) ExpiredRunArtifacts(ctx context.Context, at time.Time, limit int) ([]labelhub.RunArtifact, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("sqlstore: ExpiredRunArtifacts needs a limit")
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+artifactColumns+` FROM plugin_run_artifacts
		WHERE expires_at <= $1 AND expired_at IS NULL ORDER BY expires_at, run_id LIMIT $2`, micros(at), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []labelhub.RunArtifact
	for rows.Next() {
		a, err := scanArtifact(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// MarkRunArtifactExpired implements labelhub.RunArtifactStore. A record
// whose key changed meanwhile (a new upload) is left alone.
func (s *Store) MarkRunArtifactExpired(ctx context.Context, runID, key string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE plugin_run_artifacts SET expired_at = $1 WHERE run_id = $2 AND blob_key = $3 AND expired_at IS NULL`,
		micros(now()), runID, key)
	return err
}

var _ labelhub.RunArtifactStore = (*Store)(nil)
