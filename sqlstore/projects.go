package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/labelhub/labelhub"
)

const projectColumns = `id, org_id, name, description, category_schema, created_by, created_at, updated_at`

func scanProject(row interface{ Scan(...any) error }) (labelhub.Project, error) {
	var p labelhub.Project
	var schema string
	var created, updated int64
	if err := row.Scan(&p.ID, &p.OrgID, &p.Name, &p.Description, &schema, &p.CreatedBy, &created, &updated); err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, json.Unmarshal([]byte(schema), &p.CategorySchema)
}

// CreateProject implements labelhub.ProjectStore.
func (s *Store) CreateProject(ctx context.Context, orgID, userID string, in labelhub.ProjectInput) (labelhub.Project, error) {
	if in.CategorySchema == nil {
		in.CategorySchema = &labelhub.CategorySchema{}
	}
	if err := in.Validate(true); err != nil {
		return labelhub.Project{}, err
	}
	t := now()
	p := labelhub.Project{ID: labelhub.NewID(), OrgID: orgID, Name: *in.Name, CategorySchema: *in.CategorySchema,
		CreatedBy: userID, CreatedAt: t, UpdatedAt: t}
	if in.Description != nil {
		p.Description = *in.Description
	}
	schema, err := json.Marshal(p.CategorySchema)
	if err != nil {
		return labelhub.Project{}, err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO projects (`+projectColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.ID, orgID, p.Name, p.Description, string(schema), userID, micros(t), micros(t))
	return p, err
}

// GetProject implements labelhub.ProjectStore.
func (s *Store) GetProject(ctx context.Context, orgID, id string) (labelhub.Project, error) {
	return s.getProject(ctx, s.db, orgID, id)
}

func (s *Store) getProject(ctx context.Context, q querier, orgID, id string) (labelhub.Project, error) {
	p, err := scanProject(q.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE org_id = $1 AND id = $2`, orgID, id))
	return p, notFound(err, "project")
}

// ListProjects implements labelhub.ProjectStore.
func (s *Store) ListProjects(ctx context.Context, orgID string, p labelhub.PageRequest) (labelhub.Page[labelhub.Project], error) {
	return page(ctx, s.db, p, `SELECT `+projectColumns+` FROM projects WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`, []any{orgID},
		func(r *sql.Rows) (labelhub.Project, string, error) {
			p, err := scanProject(r)
			return p, p.ID, err
		})
}

// UpdateProject implements labelhub.ProjectStore.
func (s *Store) UpdateProject(ctx context.Context, orgID, id string, in labelhub.ProjectInput) (labelhub.Project, error) {
	if err := in.Validate(false); err != nil {
		return labelhub.Project{}, err
	}
	var p labelhub.Project
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = s.getProject(ctx, tx, orgID, id); err != nil {
			return err
		}
		if in.Name != nil {
			p.Name = *in.Name
		}
		if in.Description != nil {
			p.Description = *in.Description
		}
		if in.CategorySchema != nil {
			p.CategorySchema = *in.CategorySchema
		}
		p.UpdatedAt = now()
		schema, err := json.Marshal(p.CategorySchema)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE projects SET name = $1, description = $2, category_schema = $3, updated_at = $4 WHERE org_id = $5 AND id = $6`,
			p.Name, p.Description, string(schema), micros(p.UpdatedAt), orgID, id)
		return err
	})
	return p, err
}

// DeleteProject implements labelhub.ProjectStore. Everything of the
// project goes with it: batches, imports, runs and presets by the
// database's cascades, its assets, tasks (with their history) and batch
// links here, in the same transaction, because on PostgreSQL they have no
// foreign key to cascade along (migrate_go.go). They are deleted after
// the project's row, each statement seeing what committed before it, so an
// import batch that held its import when the project went is deleted too,
// and one that comes later finds its import gone.
func (s *Store) DeleteProject(ctx context.Context, orgID, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM projects WHERE org_id = $1 AND id = $2`, orgID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return labelhub.NotFound("project")
		}
		for _, q := range []string{`DELETE FROM asset_batches WHERE asset_id IN (SELECT id FROM assets WHERE project_id = $1)`, `DELETE FROM tasks WHERE project_id = $1`,
			`DELETE FROM assets WHERE project_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) deleteOne(ctx context.Context, query, orgID, id, kind string) error {
	res, err := s.db.ExecContext(ctx, query, orgID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return labelhub.NotFound(kind)
	}
	return nil
}

// CreateBatch implements labelhub.ProjectStore.
func (s *Store) CreateBatch(ctx context.Context, orgID, projectID, name string) (labelhub.Batch, error) {
	if err := labelhub.ValidateBatchName(name); err != nil {
		return labelhub.Batch{}, err
	}
	if _, err := s.GetProject(ctx, orgID, projectID); err != nil {
		return labelhub.Batch{}, err
	}
	b := labelhub.Batch{ID: labelhub.NewID(), ProjectID: projectID, Name: name, CreatedAt: now()}
	_, err := s.bulkExec(ctx, `INSERT INTO batches (id, org_id, project_id, name, created_at) VALUES ($1, $2, $3, $4, $5)`,
		b.ID, orgID, projectID, name, micros(b.CreatedAt))
	if isUnique(err) {
		return labelhub.Batch{}, labelhub.Errorf(labelhub.ECodeConflict, "a batch named %q exists already in this project", name)
	}
	return b, err
}

func scanBatch(row interface{ Scan(...any) error }) (labelhub.Batch, error) {
	var b labelhub.Batch
	var at int64
	err := row.Scan(&b.ID, &b.ProjectID, &b.Name, &at)
	b.CreatedAt = fromMicros(at)
	return b, err
}

// GetBatch implements labelhub.ProjectStore.
func (s *Store) GetBatch(ctx context.Context, orgID, id string) (labelhub.Batch, error) {
	b, err := scanBatch(s.db.QueryRowContext(ctx, `SELECT id, project_id, name, created_at FROM batches WHERE org_id = $1 AND id = $2`, orgID, id))
	return b, notFound(err, "batch")
}

// ListBatches implements labelhub.ProjectStore.
func (s *Store) ListBatches(ctx context.Context, orgID, projectID string, p labelhub.PageRequest) (labelhub.Page[labelhub.Batch], error) {
	if _, err := s.GetProject(ctx, orgID, projectID); err != nil {
		return labelhub.Page[labelhub.Batch]{}, err
	}
	return page(ctx, s.db, p, `SELECT id, project_id, name, created_at FROM batches WHERE org_id = $1 AND project_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
		[]any{orgID, projectID}, func(r *sql.Rows) (labelhub.Batch, string, error) {
			b, err := scanBatch(r)
			return b, b.ID, err
		})
}

// DeleteBatch implements labelhub.ProjectStore.
func (s *Store) DeleteBatch(ctx context.Context, orgID, id string) error {
	return s.deleteOne(ctx, `DELETE FROM batches WHERE org_id = $1 AND id = $2`, orgID, id, "batch")
}
