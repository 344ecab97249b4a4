package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"

	"github.com/labelhub/labelhub"
)

// assetDoc is the shape of assets.doc.
type assetDoc struct {
	Dataset     []string        `json:"dataset,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	ContextData json.RawMessage `json:"contextData,omitempty"`
	Attachments json.RawMessage `json:"attachments,omitempty"`
	EditorType  string          `json:"editorType,omitempty"`
}

const assetSelect = `SELECT a.id, a.project_id, a.external_id, a.type, a.data, a.doc, a.storage_id, a.import_id, a.probe_state, a.probe_error,
	a.created_at, COALESCE(t.id, '') FROM assets a LEFT JOIN tasks t ON t.asset_id = a.id `

func scanAsset(row interface{ Scan(...any) error }) (labelhub.Asset, error) {
	var a labelhub.Asset
	var doc string
	var created int64
	if err := row.Scan(&a.ID, &a.ProjectID, &a.ExternalID, &a.Type, &a.Data, &doc, &a.StorageID, &a.ImportID, &a.Probe.State, &a.Probe.Error,
		&created, &a.TaskID); err != nil {
		return a, err
	}
	a.CreatedAt = fromMicros(created)
	var d assetDoc
	if doc != "" {
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return a, err
		}
	}
	a.Dataset, a.Metadata, a.ContextData, a.Attachments = d.Dataset, d.Metadata, d.ContextData, d.Attachments
	a.Batches = []string{}
	return a, nil
}

// GetAsset implements labelhub.AssetStore.
func (s *Store) GetAsset(ctx context.Context, orgID, id string) (labelhub.Asset, error) {
	a, err := scanAsset(s.db.QueryRowContext(ctx, assetSelect+`WHERE a.org_id = $1 AND a.id = $2`, orgID, id))
	if err != nil {
		return a, notFound(err, "asset")
	}
	list := []labelhub.Asset{a}
	err = s.fillBatches(ctx, list)
	return list[0], err
}

// ListAssets implements labelhub.AssetStore.
func (s *Store) ListAssets(ctx context.Context, orgID, projectID string, f labelhub.AssetFilter, p labelhub.PageRequest) (labelhub.Page[labelhub.Asset], error) {
	if _, err := s.GetProject(ctx, orgID, projectID); err != nil {
		return labelhub.Page[labelhub.Asset]{}, err
	}
	q := assetSelect + `WHERE a.org_id = $1 AND a.project_id = $2`
	args := []any{orgID, projectID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.ExternalID != "" {
		q += ` AND a.external_id = ` + arg(f.ExternalID)
	}
	if f.Type != "" {
		q += ` AND a.type = ` + arg(string(f.Type))
	}
	if f.BatchID != "" {
		q += ` AND a.id IN (SELECT asset_id FROM asset_batches WHERE batch_id = ` + arg(f.BatchID) + `)`
	}
	n := len(args)
	q += ` AND a.id > $` + strconv.Itoa(n+1) + ` ORDER BY a.id LIMIT $` + strconv.Itoa(n+2)
	pg, err := page(ctx, s.db, p, q, args, func(r *sql.Rows) (labelhub.Asset, string, error) {
		a, err := scanAsset(r)
		return a, a.ID, err
	})
	if err != nil {
		return pg, err
	}
	return pg, s.fillBatches(ctx, pg.Items)
}

// fillBatches sets the batch names of the assets.
func (s *Store) fillBatches(ctx context.Context, list []labelhub.Asset) error {
	at := make(map[string]int, len(list))
	ids := make([]any, 0, len(list))
	for i, a := range list {
		at[a.ID] = i
		ids = append(ids, a.ID)
	}
	return s.eachBatchName(ctx, ids, func(assetID, name string) {
		list[at[assetID]].Batches = append(list[at[assetID]].Batches, name)
	})
}

// eachBatchName calls fn with every (asset id, batch name) pair of the
// given assets, in one query, names in order.
func (s *Store) eachBatchName(ctx context.Context, assetIDs []any, fn func(assetID, name string)) error {
	if len(assetIDs) == 0 {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT ab.asset_id, b.name FROM asset_batches ab JOIN batches b ON b.id = ab.batch_id
		WHERE ab.asset_id IN (`+s.inList(1, len(assetIDs))+`) ORDER BY b.name`, assetIDs...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		fn(id, name)
	}
	return rows.Err()
}

// FirstStage implements labelhub.AssetStore.
func (s *Store) FirstStage(ctx context.Context, orgID, projectID string) (string, error) {
	var wf string
	if err := s.db.QueryRowContext(ctx, `SELECT workflow FROM projects WHERE org_id = $1 AND id = $2`, orgID, projectID).Scan(&wf); err != nil {
		return "", notFound(err, "project")
	}
	if wf != "" {
		var stages []labelhub.Stage
		if err := json.Unmarshal([]byte(wf), &stages); err == nil && len(stages) > 0 {
			return stages[0].StageID, nil
		}
	}
	return labelhub.DefaultStages[0].StageID, nil
}

// ApplyLabels implements labelhub.AssetStore.
func (s *Store) ApplyLabels(ctx context.Context, orgID, projectID, userID string, ups []labelhub.LabelUpdate) ([]int, error) {
	var unmatched []int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		unmatched = unmatched[:0]
		stmt, err := tx.PrepareContext(ctx, `UPDATE tasks SET answer = $1, answer_canonical = $7, version = version + 1, updated_at = $2, updated_by = $3
			WHERE project_id = $4 AND org_id = $5 AND asset_id IN (SELECT id FROM assets WHERE project_id = $4 AND external_id = $6)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		t := micros(now())
		for i, u := range ups {
			res, err := stmt.ExecContext(ctx, u.Answer, t, userID, projectID, orgID, u.ExternalID, CanonicalAnswer(u.Answer))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				unmatched = append(unmatched, i)
			}
		}
		return nil
	})
	return unmatched, err
}

// CountTasks counts the project's tasks in a stage ("" for all stages).
func (s *Store) CountTasks(ctx context.Context, orgID, projectID, stageID string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tasks WHERE org_id = $1 AND project_id = $2 AND ($3 = '' OR stage_id = $3)`,
		orgID, projectID, stageID).Scan(&n)
	return n, err
}
