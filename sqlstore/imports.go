package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/labelhub/labelhub"
)

const importColumns = `id, org_id, project_id, kind, state, options, received, valid, imported, updated, skipped, invalid,
	error_count, next_index, bytes, uploaded, phase, error, spool, runner, created_by, created_at, updated_at, heartbeat_at, finished_at`

func scanImport(row interface{ Scan(...any) error }) (labelhub.Import, error) {
	var im labelhub.Import
	var opts string
	var created, updated, hb int64
	var finished sql.NullInt64
	c := &im.Counts
	err := row.Scan(&im.ID, &im.OrgID, &im.ProjectID, &im.Kind, &im.State, &opts, &c.Received, &c.Valid, &c.Imported, &c.Updated,
		&c.Skipped, &c.Invalid, &im.ErrorsStored, &im.NextIndex, &im.Bytes, &im.Uploaded, &im.Phase, &im.Error, &im.Spool, &im.Runner,
		&im.CreatedBy, &created, &updated, &hb, &finished)
	if err != nil {
		return im, err
	}
	im.CreatedAt, im.UpdatedAt, im.HeartbeatAt = fromMicros(created), fromMicros(updated), fromMicros(hb)
	im.FinishedAt = fromNullMicros(finished)
	return im, json.Unmarshal([]byte(opts), &im.Options)
}

// CreateImport implements labelhub.ImportStore.
func (s *Store) CreateImport(ctx context.Context, im labelhub.Import) error {
	opts, err := json.Marshal(im.Options)
	if err != nil {
		return err
	}
	t := micros(now())
	_, err = s.db.ExecContext(ctx, `INSERT INTO imports (id, org_id, project_id, kind, state, options, spool, runner, created_by, created_at, updated_at, heartbeat_at, phase)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		im.ID, im.OrgID, im.ProjectID, im.Kind, string(im.State), string(opts), im.Spool, im.Runner, im.CreatedBy, t, t, t, im.Phase)
	return err
}

// GetImport implements labelhub.ImportStore.
func (s *Store) GetImport(ctx context.Context, orgID, id string) (labelhub.Import, error) {
	im, err := scanImport(s.db.QueryRowContext(ctx, `SELECT `+importColumns+` FROM imports WHERE org_id = $1 AND id = $2`, orgID, id))
	return im, notFound(err, "import")
}

func (s *Store) importByID(ctx context.Context, q querier, id string) (labelhub.Import, error) {
	im, err := scanImport(q.QueryRowContext(ctx, `SELECT `+importColumns+` FROM imports WHERE id = $1`, id))
	return im, notFound(err, "import")
}

// error cursors carry the sequence number of the last error of a page.
func encodeSeqCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("e1:" + strconv.FormatInt(seq, 10)))
}

func decodeSeqCursor(c string) (int64, error) {
	if c == "" {
		return -1, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && len(b) > 3 && string(b[:3]) == "e1:" {
		if n, err := strconv.ParseInt(string(b[3:]), 10, 64); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, labelhub.Invalid("invalid page", labelhub.FieldError{Path: "cursor", Message: "is not a cursor returned by this list; start again without it"})
}

// ListImportErrors implements labelhub.ImportStore.
func (s *Store) ListImportErrors(ctx context.Context, orgID, id string, p labelhub.PageRequest) (labelhub.Page[labelhub.ImportError], error) {
	out := labelhub.Page[labelhub.ImportError]{Items: []labelhub.ImportError{}}
	if _, err := s.GetImport(ctx, orgID, id); err != nil {
		return out, err
	}
	limit := p.Limit
	if limit == 0 {
		limit = labelhub.DefaultPageLimit
	}
	if limit < 1 || limit > labelhub.MaxPageLimit {
		return out, labelhub.Invalid("invalid page", labelhub.FieldError{Path: "limit", Message: fmt.Sprintf("must be between 1 and %d", labelhub.MaxPageLimit)})
	}
	after, err := decodeSeqCursor(p.Cursor)
	if err != nil {
		return out, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, item_index, line, path, message FROM import_errors
		WHERE import_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, id, after, limit+1)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	var last int64
	for rows.Next() {
		if len(out.Items) == limit {
			out.NextCursor = encodeSeqCursor(last)
			break
		}
		var e labelhub.ImportError
		if err := rows.Scan(&last, &e.Index, &e.Line, &e.Path, &e.Message); err != nil {
			return out, err
		}
		out.Items = append(out.Items, e)
	}
	return out, rows.Err()
}

var errLost = labelhub.Errorf(labelhub.ECodeConflict, "the import is no longer held by this process")

func (s *Store) owned(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errLost
	}
	return nil
}

// SetImportUploaded implements labelhub.ImportStore.
func (s *Store) SetImportUploaded(ctx context.Context, id, runner string, bytes int64) error {
	return s.owned(s.bulkExec(ctx, `UPDATE imports SET uploaded = TRUE, bytes = $1, updated_at = $2 WHERE id = $3 AND runner = $4`,
		bytes, micros(now()), id, runner))
}

// SetImportPhase implements labelhub.ImportStore; reset sets the counts,
// errors and next index back to zero (the write pass of an atomic import
// starts again from the first item).
func (s *Store) SetImportPhase(ctx context.Context, id, runner, phase string, reset bool) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		q := `UPDATE imports SET phase = $1, updated_at = $2 WHERE id = $3 AND runner = $4`
		if reset {
			q = `UPDATE imports SET phase = $1, updated_at = $2, received = 0, valid = 0, imported = 0, updated = 0, skipped = 0,
				invalid = 0, error_count = 0, next_index = 0 WHERE id = $3 AND runner = $4`
		}
		if err := s.owned(tx.ExecContext(ctx, q, phase, micros(now()), id, runner)); err != nil {
			return err
		}
		if reset {
			_, err := tx.ExecContext(ctx, `DELETE FROM import_errors WHERE import_id = $1`, id)
			return err
		}
		return nil
	})
}

// CommitImportBatch implements labelhub.ImportStore: the batch's assets,
// tasks, batch links and errors and the import's counts and next index are
// written in one transaction, so a crash never leaves half a batch and a
// resume starts exactly at NextIndex.
func (s *Store) CommitImportBatch(ctx context.Context, b labelhub.ImportBatch) (labelhub.ImportCounts, error) {
	delta := b.Delta
	err := s.bulkTx(ctx, func(tx *sql.Tx) error {
		lock := ""
		if s.postgres {
			lock = " FOR UPDATE"
		}
		var state, runner string
		var errCount int64
		if err := tx.QueryRowContext(ctx, `SELECT state, runner, error_count FROM imports WHERE id = $1`+lock, b.ImportID).Scan(&state, &runner, &errCount); err != nil {
			return notFound(err, "import")
		}
		if state != string(labelhub.ImportRunning) || runner != b.Runner {
			return errLost
		}
		delta = b.Delta
		errs := b.Errors
		inserts := b.Assets
		var updates []labelhub.NewAsset
		if len(inserts) > 0 && b.OnDuplicate != "" && b.OnDuplicate != labelhub.DuplicateAllow {
			existing, err := existingExternalIDs(ctx, tx, b.ProjectID, inserts)
			if err != nil {
				return err
			}
			if len(existing) > 0 {
				keep := make([]labelhub.NewAsset, 0, len(inserts))
				for _, a := range inserts {
					if !existing[a.ExternalID] {
						keep = append(keep, a)
						continue
					}
					switch b.OnDuplicate {
					case labelhub.DuplicateSkip:
						delta.Skipped++
					case labelhub.DuplicateUpdate:
						updates = append(updates, a)
					default:
						delta.Valid--
						delta.Invalid++
						errs = append(errs, labelhub.ImportError{Index: a.Index, Line: a.Line, Path: fmt.Sprintf("[%d].externalId", a.Index),
							Message: fmt.Sprintf("an asset with externalId %q exists already in this project (onDuplicate=error)", a.ExternalID)})
					}
				}
				inserts = keep
			}
		}
		delta.Imported += int64(len(inserts))
		delta.Updated += int64(len(updates))
		if !b.DryRun {
			if err := s.insertAssets(ctx, tx, b, inserts); err != nil {
				return err
			}
			if err := s.updateAssets(ctx, tx, b, updates); err != nil {
				return err
			}
		}
		if len(errs) > 0 && errCount < labelhub.MaxImportErrors {
			errs = errs[:min(len(errs), int(labelhub.MaxImportErrors-errCount))]
			args := make([]any, 0, len(errs)*6)
			for i, e := range errs {
				args = append(args, b.ImportID, errCount+int64(i)+1, e.Index, e.Line, e.Path, e.Message)
			}
			if err := errorInsert.exec(ctx, tx, !s.postgres, args); err != nil {
				return err
			}
			errCount += int64(len(errs))
		}
		t := micros(b.Now)
		_, err := tx.ExecContext(ctx, `UPDATE imports SET received = received + $1, valid = valid + $2, imported = imported + $3,
			updated = updated + $4, skipped = skipped + $5, invalid = invalid + $6, error_count = $7, next_index = $8,
			updated_at = $9, heartbeat_at = $9 WHERE id = $10`,
			delta.Received, delta.Valid, delta.Imported, delta.Updated, delta.Skipped, delta.Invalid, errCount, b.NextIndex, t, b.ImportID)
		return err
	})
	return delta, err
}

func existingExternalIDs(ctx context.Context, tx *sql.Tx, projectID string, assets []labelhub.NewAsset) (map[string]bool, error) {
	found := map[string]bool{}
	const chunk = 500
	for start := 0; start < len(assets); start += chunk {
		part := assets[start:min(start+chunk, len(assets))]
		args := make([]any, 0, len(part)+1)
		args = append(args, projectID)
		for _, a := range part {
			args = append(args, a.ExternalID)
		}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT external_id FROM assets WHERE project_id = $1 AND external_id IN (`+placeholders(2, len(part))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			found[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return found, nil
}

func (s *Store) insertAssets(ctx context.Context, tx *sql.Tx, b labelhub.ImportBatch, list []labelhub.NewAsset) error {
	if len(list) == 0 {
		return nil
	}
	t := micros(b.Now)
	args := make([]any, 0, len(list)*assetInsert.ncols)
	links := 0
	for i := range list {
		a := &list[i]
		args = append(args, a.ID, b.OrgID, b.ProjectID, a.ExternalID, string(a.Type), a.Data, a.Doc, a.StorageID, b.ImportID, a.ProbeState, "", t)
		links += len(a.BatchIDs)
	}
	if err := assetInsert.exec(ctx, tx, !s.postgres, args); err != nil {
		return err
	}
	args = args[:0]
	for i := range list {
		a := &list[i]
		args = append(args, labelhub.NewID(), b.OrgID, b.ProjectID, a.ID, b.StageID, a.Answer, 1, t, t, "")
	}
	if err := taskInsert.exec(ctx, tx, !s.postgres, args); err != nil {
		return err
	}
	if links == 0 {
		return nil
	}
	args = args[:0]
	for i := range list {
		for _, bid := range list[i].BatchIDs {
			args = append(args, bid, list[i].ID, b.ProjectID)
		}
	}
	return linkInsert.exec(ctx, tx, !s.postgres, args)
}

// updateAssets gives every asset of the project with each update's
// externalId the update's content (onDuplicate=update) and adds the
// update's batches; pre-labels replace the task's answer.
func (s *Store) updateAssets(ctx context.Context, tx *sql.Tx, b labelhub.ImportBatch, list []labelhub.NewAsset) error {
	if len(list) == 0 {
		return nil
	}
	t := micros(b.Now)
	for _, a := range list {
		if _, err := tx.ExecContext(ctx, `UPDATE assets SET type = $1, data = $2, doc = $3, storage_id = $4, probe_state = $5, probe_error = ''
			WHERE project_id = $6 AND external_id = $7`, string(a.Type), a.Data, a.Doc, a.StorageID, a.ProbeState, b.ProjectID, a.ExternalID); err != nil {
			return err
		}
		for _, bid := range a.BatchIDs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO asset_batches (batch_id, asset_id, project_id)
				SELECT $1, id, project_id FROM assets WHERE project_id = $2 AND external_id = $3 ON CONFLICT DO NOTHING`, bid, b.ProjectID, a.ExternalID); err != nil {
				return err
			}
		}
		if a.Answer != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE tasks SET answer = $1, version = version + 1, updated_at = $2
				WHERE asset_id IN (SELECT id FROM assets WHERE project_id = $3 AND external_id = $4)`, a.Answer, t, b.ProjectID, a.ExternalID); err != nil {
				return err
			}
		}
	}
	return nil
}

// HeartbeatImport implements labelhub.ImportStore.
func (s *Store) HeartbeatImport(ctx context.Context, id, runner string, at time.Time) error {
	return s.owned(s.bulkExec(ctx, `UPDATE imports SET heartbeat_at = $1 WHERE id = $2 AND runner = $3 AND state = 'running'`, micros(at), id, runner))
}

// ClaimStaleImports implements labelhub.ImportStore.
func (s *Store) ClaimStaleImports(ctx context.Context, runner string, staleBefore time.Time) ([]labelhub.Import, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, runner, heartbeat_at FROM imports WHERE state = 'running' AND heartbeat_at < $1 AND runner <> $2 ORDER BY id`,
		micros(staleBefore), runner)
	if err != nil {
		return nil, err
	}
	type cand struct {
		id, runner string
		hb         int64
	}
	var cands []cand
	for rows.Next() {
		var c cand
		if err := rows.Scan(&c.id, &c.runner, &c.hb); err != nil {
			rows.Close()
			return nil, err
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []labelhub.Import
	for _, c := range cands {
		t := micros(now())
		res, err := s.db.ExecContext(ctx, `UPDATE imports SET runner = $1, heartbeat_at = $2, updated_at = $2
			WHERE id = $3 AND runner = $4 AND heartbeat_at = $5 AND state = 'running'`, runner, t, c.id, c.runner, c.hb)
		if err != nil {
			return out, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			im, err := s.importByID(ctx, s.db, c.id)
			if err != nil {
				return out, err
			}
			out = append(out, im)
		}
	}
	return out, nil
}

// ClaimImport implements labelhub.ImportStore.
func (s *Store) ClaimImport(ctx context.Context, orgID, id, runner string, staleBefore time.Time, from ...labelhub.ImportState) (labelhub.Import, error) {
	im, err := s.GetImport(ctx, orgID, id)
	if err != nil {
		return im, err
	}
	ok := im.State == labelhub.ImportRunning && im.HeartbeatAt.Before(staleBefore)
	for _, st := range from {
		ok = ok || im.State == st
	}
	if !ok {
		if im.State == labelhub.ImportRunning {
			return im, labelhub.Errorf(labelhub.ECodeConflict, "the import is running; wait for it to finish")
		}
		return im, labelhub.Errorf(labelhub.ECodeConflict, "the import is %s; this is not possible in that state", im.State)
	}
	t := micros(now())
	res, err := s.db.ExecContext(ctx, `UPDATE imports SET state = 'running', runner = $1, heartbeat_at = $2, updated_at = $2, error = '', finished_at = NULL
		WHERE id = $3 AND state = $4 AND runner = $5 AND heartbeat_at = $6`, runner, t, id, string(im.State), im.Runner, micros(im.HeartbeatAt))
	if err != nil {
		return im, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return im, labelhub.Errorf(labelhub.ECodeConflict, "the import changed meanwhile; try again")
	}
	return s.GetImport(ctx, orgID, id)
}

// FinishImport implements labelhub.ImportStore.
func (s *Store) FinishImport(ctx context.Context, id, runner string, state labelhub.ImportState, msg string) error {
	t := micros(now())
	return s.owned(s.db.ExecContext(ctx, `UPDATE imports SET state = $1, error = $2, finished_at = $3, updated_at = $3
		WHERE id = $4 AND runner = $5 AND state = 'running'`, string(state), msg, t, id, runner))
}

// ReleaseImport implements labelhub.ImportStore.
func (s *Store) ReleaseImport(ctx context.Context, id, runner string) error {
	return s.owned(s.db.ExecContext(ctx, `UPDATE imports SET heartbeat_at = 0 WHERE id = $1 AND runner = $2 AND state = 'running'`, id, runner))
}

// DeleteImportAssets implements labelhub.ImportStore.
func (s *Store) DeleteImportAssets(ctx context.Context, orgID, id string, limit int) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM assets WHERE import_id = $1 AND org_id = $2 LIMIT $3`, id, orgID, limit)
		if err != nil {
			return err
		}
		var ids []any
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(ids)
		for start := 0; start < len(ids); start += 500 {
			part := ids[start:min(start+500, len(ids))]
			in := placeholders(1, len(part))
			for _, q := range []string{`DELETE FROM asset_batches WHERE asset_id IN (` + in + `)`, `DELETE FROM tasks WHERE asset_id IN (` + in + `)`,
				`DELETE FROM assets WHERE id IN (` + in + `)`} {
				if _, err := tx.ExecContext(ctx, q, part...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, err
}

// ResolveBatches implements labelhub.ImportStore.
func (s *Store) ResolveBatches(ctx context.Context, orgID, projectID string, refs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(refs) == 0 {
		return out, nil
	}
	args := []any{orgID, projectID}
	for _, r := range refs {
		args = append(args, r)
	}
	in := placeholders(3, len(refs))
	rows, err := s.db.QueryContext(ctx, `SELECT id, name FROM batches WHERE org_id = $1 AND project_id = $2 AND (id IN (`+in+`) OR name IN (`+in+`))`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID, byName := map[string]string{}, map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		byID[id], byName[name] = id, id
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, r := range refs {
		if id, ok := byID[r]; ok {
			out[r] = id
		} else if id, ok := byName[r]; ok {
			out[r] = id
		}
	}
	return out, nil
}

// ErrLostImport reports whether err says that the runner lost its import.
func ErrLostImport(err error) bool { return errors.Is(err, errLost) }
