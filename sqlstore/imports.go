package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/labelhub/labelhub"
)

const importColumns = `id, org_id, project_id, kind, state, options, received, valid, imported, updated, skipped, invalid,
	error_count, next_index, bytes, uploaded, phase, error, spool, runner, created_by, created_at, updated_at, heartbeat_at, finished_at,
	listed, skipped_not_asset, resume_key`

func scanImport(row interface{ Scan(...any) error }) (labelhub.Import, error) {
	var im labelhub.Import
	var opts string
	var created, updated, hb int64
	var finished sql.NullInt64
	c := &im.Counts
	err := row.Scan(&im.ID, &im.OrgID, &im.ProjectID, &im.Kind, &im.State, &opts, &c.Received, &c.Valid, &c.Imported, &c.Updated,
		&c.Skipped, &c.Invalid, &im.ErrorsStored, &im.NextIndex, &im.Bytes, &im.Uploaded, &im.Phase, &im.Error, &im.Spool, &im.Runner,
		&im.CreatedBy, &created, &updated, &hb, &finished, &c.Listed, &c.SkippedNotAsset, &im.ResumeKey)
	if err != nil {
		return im, err
	}
	im.CreatedAt, im.UpdatedAt, im.HeartbeatAt = fromMicros(created), fromMicros(updated), fromMicros(hb)
	im.FinishedAt = fromNullMicros(finished)
	return im, json.Unmarshal([]byte(opts), &im.Options)
}

// CreateImport implements labelhub.ImportStore.
func (s *Store) CreateImport(ctx context.Context, im labelhub.Import) error {
	return insertImport(ctx, s.db, im)
}

// Keys of PostgreSQL advisory locks (the first of the two int4 keys; the
// second is hashtext of the id the lock is about). A hash collision only
// makes two creators wait for each other.
const (
	lockImportsOfOrg    = 0x6c680001 // the active imports of an organisation
	lockQueuedOfPlugin  = 0x6c680002 // the queued runs of a plugin in an organisation
	lockAssetsOfProject = 0x6c680003 // the externalIds of a project, while a batch looks for duplicates
)

// CreateImportLimited is CreateImport refused, with nothing created, when
// the organisation has maxActive imports queued or running already
// (labelhub.TooManyImports); maxActive <= 0 means no limit.
//
// The count and the insert are one transaction that no other creator of
// an import of the organisation can interleave with, so the limit holds
// across replicas: on SQLite the transaction holds the database's write
// lock from its start (BEGIN IMMEDIATE); on PostgreSQL it first takes a
// transaction-scoped advisory lock of the organisation, so creators of
// the same organisation go one after the other, and the count (a new
// snapshot under READ COMMITTED, taken once the lock is held) sees every
// import committed before.
func (s *Store) CreateImportLimited(ctx context.Context, im labelhub.Import, maxActive int) error {
	if maxActive <= 0 {
		return s.CreateImport(ctx, im)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if s.postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockImportsOfOrg, im.OrgID); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM imports WHERE org_id = $1 AND state IN ($2, $3)`,
			im.OrgID, string(labelhub.ImportQueued), string(labelhub.ImportRunning)).Scan(&n); err != nil {
			return err
		}
		if n >= maxActive {
			return labelhub.TooManyImports(n)
		}
		return insertImport(ctx, tx, im)
	})
}

func insertImport(ctx context.Context, q querier, im labelhub.Import) error {
	opts, err := json.Marshal(im.Options)
	if err != nil {
		return err
	}
	t := micros(now())
	_, err = q.ExecContext(ctx, `INSERT INTO imports (id, org_id, project_id, kind, state, options, spool, runner, created_by, created_at, updated_at, heartbeat_at, phase)
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
				invalid = 0, error_count = 0, next_index = 0, listed = 0, skipped_not_asset = 0, resume_key = '' WHERE id = $3 AND runner = $4`
		}
		if err := s.owned(tx.ExecContext(ctx, q, phase, micros(now()), id, runner)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_seen WHERE import_id = $1`, id); err != nil {
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
	var delta labelhub.ImportCounts
	fn := func(tx *sql.Tx, cp copier) error {
		errCount, err := lockImport(ctx, tx, s.postgres, b)
		if err != nil {
			return err
		}
		delta, err = s.commitBatch(ctx, tx, cp, b, errCount)
		return err
	}
	if s.postgres && len(b.Assets) > 0 && !b.DryRun {
		err := s.copyTx(ctx, fn)
		if err == nil {
			s.grew(int(delta.Imported))
		}
		return delta, err
	}
	err := s.bulkTx(ctx, func(tx *sql.Tx) error { return fn(tx, nil) })
	if err == nil && len(b.Assets) > 0 {
		s.checkpointSoon()
	}
	return delta, err
}

// lockImport checks (and on PostgreSQL locks) that the import is running
// and held by the batch's runner; it returns its error count.
func lockImport(ctx context.Context, tx *sql.Tx, postgres bool, b labelhub.ImportBatch) (int64, error) {
	lock := ""
	if postgres {
		lock = " FOR UPDATE"
	}
	var state, runner string
	var errCount int64
	if err := tx.QueryRowContext(ctx, `SELECT state, runner, error_count FROM imports WHERE id = $1`+lock, b.ImportID).Scan(&state, &runner, &errCount); err != nil {
		return 0, notFound(err, "import")
	}
	if state != string(labelhub.ImportRunning) || runner != b.Runner {
		return 0, errLost
	}
	return errCount, nil
}

// duplicate messages: the same for a dry run and a real run.
func dupMessage(externalID string, earlierItem bool) string {
	if earlierItem {
		return fmt.Sprintf("an earlier item of this import has externalId %q (onDuplicate=error)", externalID)
	}
	return fmt.Sprintf("an asset with externalId %q exists already in this project (onDuplicate=error)", externalID)
}

// commitBatch writes batch b in tx; cp, when not nil, copies the new rows
// with COPY (PostgreSQL).
func (s *Store) commitBatch(ctx context.Context, tx *sql.Tx, cp copier, b labelhub.ImportBatch, errCount int64) (labelhub.ImportCounts, error) {
	delta := b.Delta
	errs := b.Errors
	inserts := b.Assets
	var updates []labelhub.NewAsset
	if len(inserts) > 0 && b.OnDuplicate != "" && b.OnDuplicate != labelhub.DuplicateAllow {
		// Under READ COMMITTED two batches of the project would both miss
		// what the other inserts; on PostgreSQL they take turns (SQLite's
		// write lock does that already), so each sees the other's rows.
		if s.postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockAssetsOfProject, b.ProjectID); err != nil {
				return delta, err
			}
		}
		existing, err := existingExternalIDs(ctx, tx, s.postgres, b.ProjectID, b.ImportID, inserts)
		if err != nil {
			return delta, err
		}
		if b.DryRun {
			// Nothing of a dry run is in assets: earlier batches of the
			// file are in import_seen.
			if err := seenExternalIDs(ctx, tx, b.ImportID, inserts, existing); err != nil {
				return delta, err
			}
		}
		if len(existing) > 0 {
			keep := make([]labelhub.NewAsset, 0, len(inserts))
			for _, a := range inserts {
				own, dup := existing[a.ExternalID]
				if !dup {
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
						Message: dupMessage(a.ExternalID, own)})
				}
			}
			inserts = keep
		}
		if b.DryRun && len(inserts) > 0 {
			args := make([]any, 0, 2*len(inserts))
			for _, a := range inserts {
				args = append(args, b.ImportID, a.ExternalID)
			}
			if err := seenInsert.exec(ctx, tx, &s.stmts, !s.postgres, args); err != nil {
				return delta, err
			}
		}
	}
	delta.Imported += int64(len(inserts))
	delta.Updated += int64(len(updates))
	if b.Validation {
		delta.Imported, delta.Updated, delta.Skipped = 0, 0, 0
	}
	if !b.DryRun {
		if err := s.insertAssets(ctx, tx, cp, b, inserts); err != nil {
			return delta, err
		}
		if err := s.updateAssets(ctx, tx, b, updates); err != nil {
			return delta, err
		}
	}
	if len(errs) > len(b.Errors) {
		// Duplicates found here join the batch's errors in item order.
		errs = slices.Clone(errs)
		slices.SortStableFunc(errs, func(x, y labelhub.ImportError) int { return cmp.Compare(x.Index, y.Index) })
	}
	if len(errs) > 0 && errCount < labelhub.MaxImportErrors {
		errs = errs[:min(len(errs), int(labelhub.MaxImportErrors-errCount))]
		args := make([]any, 0, len(errs)*6)
		for i, e := range errs {
			args = append(args, b.ImportID, errCount+int64(i)+1, e.Index, e.Line, e.Path, e.Message)
		}
		if err := errorInsert.exec(ctx, tx, &s.stmts, !s.postgres, args); err != nil {
			return delta, err
		}
		errCount += int64(len(errs))
	}
	t := micros(b.Now)
	_, err := tx.ExecContext(ctx, `UPDATE imports SET received = received + $1, valid = valid + $2, imported = imported + $3,
		updated = updated + $4, skipped = skipped + $5, invalid = invalid + $6, error_count = $7, next_index = $8,
		updated_at = $9, heartbeat_at = $9, listed = listed + $11, skipped_not_asset = skipped_not_asset + $12, resume_key = $13 WHERE id = $10`,
		delta.Received, delta.Valid, delta.Imported, delta.Updated, delta.Skipped, delta.Invalid, errCount, b.NextIndex, t, b.ImportID,
		delta.Listed, delta.SkippedNotAsset, b.ResumeKey)
	return delta, err
}

// existingExternalIDs returns the externalIds of assets that the project
// has already, each with true when all its assets were added by import
// importID (an earlier batch of the same file).
//
// It first reads the project's assets between the batch's least and
// greatest externalId, in index order and at most one more than the
// batch has items (rangeExternalIDs): the keys of a folder come in
// listing order, so each batch of a new folder lies past everything
// imported before and costs one seek of the index, and a re-import reads
// the range it covers once. Only when that range holds more assets than
// the batch has items (externalIds spread over the project's, as random
// ids are) are the batch's externalIds looked up one by one.
func existingExternalIDs(ctx context.Context, tx *sql.Tx, postgres bool, projectID, importID string, assets []labelhub.NewAsset) (map[string]bool, error) {
	if found, ok, err := rangeExternalIDs(ctx, tx, postgres, projectID, importID, assets); err != nil || ok {
		return found, err
	}
	found := map[string]bool{}
	const chunk = 500
	for start := 0; start < len(assets); start += chunk {
		part := assets[start:min(start+chunk, len(assets))]
		args := make([]any, 0, len(part)+2)
		args = append(args, projectID, importID)
		for _, a := range part {
			args = append(args, a.ExternalID)
		}
		rows, err := tx.QueryContext(ctx, `SELECT external_id, MIN(CASE WHEN import_id = $2 THEN 1 ELSE 0 END) FROM assets
			WHERE project_id = $1 AND external_id IN (`+placeholders(3, len(part))+`) GROUP BY external_id`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var own int
			if err := rows.Scan(&id, &own); err != nil {
				rows.Close()
				return nil, err
			}
			found[id] = own == 1
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// rangeExternalIDs is existingExternalIDs by one read of the range of the
// project's externalIds from the batch's least to its greatest; ok is
// false when the range holds more assets than the batch has items (then
// nothing is returned). On PostgreSQL the bounds are taken by the server,
// in the column's collation, which need not be the byte order of Go's
// strings; SQLite compares text by its bytes.
func rangeExternalIDs(ctx context.Context, tx *sql.Tx, postgres bool, projectID, importID string, assets []labelhub.NewAsset) (map[string]bool, bool, error) {
	if len(assets) == 0 {
		return map[string]bool{}, true, nil
	}
	batch := make(map[string]bool, len(assets))
	ids := make([]string, 0, len(assets))
	lo, hi := assets[0].ExternalID, assets[0].ExternalID
	for _, a := range assets {
		if !batch[a.ExternalID] {
			batch[a.ExternalID] = true
			ids = append(ids, a.ExternalID)
		}
		lo, hi = min(lo, a.ExternalID), max(hi, a.ExternalID)
	}
	limit := len(assets) + 1
	q := `SELECT external_id, import_id = $2 FROM assets WHERE project_id = $1 AND external_id >= $3 AND external_id <= $4
		ORDER BY external_id LIMIT $5`
	args := []any{projectID, importID, lo, hi, limit}
	if postgres {
		q = `SELECT external_id, import_id = $2 FROM assets WHERE project_id = $1
			AND external_id >= (SELECT min(e) FROM unnest($3::text[]) e) AND external_id <= (SELECT max(e) FROM unnest($3::text[]) e)
			ORDER BY external_id LIMIT $4`
		args = []any{projectID, importID, ids, limit}
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	found := map[string]bool{}
	n := 0
	for rows.Next() {
		var id string
		var own bool
		if err := rows.Scan(&id, &own); err != nil {
			return nil, false, err
		}
		if n++; n == limit {
			return nil, false, nil
		}
		if !batch[id] {
			continue
		}
		if was, seen := found[id]; seen {
			own = own && was
		}
		found[id] = own
	}
	return found, true, rows.Err()
}

// seenExternalIDs adds to found (as earlier items of the import) the
// externalIds of assets that earlier batches of a dry run have seen.
func seenExternalIDs(ctx context.Context, tx *sql.Tx, importID string, assets []labelhub.NewAsset, found map[string]bool) error {
	const chunk = 500
	for start := 0; start < len(assets); start += chunk {
		part := assets[start:min(start+chunk, len(assets))]
		args := make([]any, 0, len(part)+1)
		args = append(args, importID)
		for _, a := range part {
			args = append(args, a.ExternalID)
		}
		rows, err := tx.QueryContext(ctx, `SELECT external_id FROM import_seen WHERE import_id = $1 AND external_id IN (`+placeholders(2, len(part))+`)`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			if _, ok := found[id]; !ok {
				found[id] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) insertAssets(ctx context.Context, tx *sql.Tx, cp copier, b labelhub.ImportBatch, list []labelhub.NewAsset) error {
	if len(list) == 0 {
		return nil
	}
	t := micros(b.Now)
	args := make([]any, 0, len(list)*len(assetInsert.vars))
	links := 0
	for i := range list {
		a := &list[i]
		args = append(args, a.ID, a.ExternalID, string(a.Type), a.Data, a.Doc, a.StorageID, a.ProbeState)
		links += len(a.BatchIDs)
	}
	if err := assetInsert.insert(ctx, tx, &s.stmts, !s.postgres, cp, []any{b.OrgID, b.ProjectID, b.ImportID, t}, args); err != nil {
		return err
	}
	args = args[:0]
	for i := range list {
		a := &list[i]
		args = append(args, labelhub.NewID(), a.ID, a.Answer)
	}
	if err := taskInsert.insert(ctx, tx, &s.stmts, !s.postgres, cp, []any{b.OrgID, b.ProjectID, b.StageID, t, t}, args); err != nil {
		return err
	}
	if links == 0 {
		return nil
	}
	args = args[:0]
	for i := range list {
		ids := list[i].BatchIDs
		for k, bid := range ids {
			if slices.Contains(ids[:k], bid) {
				continue // one link per batch
			}
			args = append(args, bid, list[i].ID)
		}
	}
	if cp != nil {
		return cp(ctx, linkInsert.table, linkInsert.cols, &flatRows{args: args, n: len(linkInsert.cols)})
	}
	return linkInsert.exec(ctx, tx, &s.stmts, !s.postgres, args)
}

// updateAssets gives every asset of the project with each update's
// externalId the update's content (onDuplicate=update) and adds the
// update's batches; pre-labels replace the task's answer. The state before
// the import of each asset it did not add goes to import_undo, and the
// links it adds to import_undo_links, in the same transaction, so that a
// rollback restores them.
func (s *Store) updateAssets(ctx context.Context, tx *sql.Tx, b labelhub.ImportBatch, list []labelhub.NewAsset) error {
	if len(list) == 0 {
		return nil
	}
	t := micros(b.Now)
	for _, a := range list {
		if err := saveUndo(ctx, tx, b.ImportID, b.ProjectID, a.ExternalID, true, a.Answer != ""); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assets SET type = $1, data = $2, doc = $3, storage_id = $4, probe_state = $5, probe_error = ''
			WHERE project_id = $6 AND external_id = $7`, string(a.Type), a.Data, a.Doc, a.StorageID, a.ProbeState, b.ProjectID, a.ExternalID); err != nil {
			return err
		}
		for _, bid := range a.BatchIDs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO import_undo_links (import_id, batch_id, asset_id)
				SELECT $1, $2, a.id FROM assets a WHERE a.project_id = $3 AND a.external_id = $4 AND a.import_id <> $1
				AND NOT EXISTS (SELECT 1 FROM asset_batches ab WHERE ab.batch_id = $2 AND ab.asset_id = a.id)
				ON CONFLICT DO NOTHING`, b.ImportID, bid, b.ProjectID, a.ExternalID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO asset_batches (batch_id, asset_id)
				SELECT $1, id FROM assets WHERE project_id = $2 AND external_id = $3 ON CONFLICT DO NOTHING`, bid, b.ProjectID, a.ExternalID); err != nil {
				return err
			}
		}
		if a.Answer != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE tasks SET answer = $1, answer_canonical = $5, version = version + 1, updated_at = $2
				WHERE asset_id IN (SELECT id FROM assets WHERE project_id = $3 AND external_id = $4)`,
				a.Answer, t, b.ProjectID, a.ExternalID, CanonicalAnswer(a.Answer)); err != nil {
				return err
			}
		}
	}
	return nil
}

// saveUndo records in import_undo the current state of the project's
// assets with externalID that the import did not add, unless the import
// changed them before (the first state is the one before the import);
// asset and answer say which parts the import is about to change.
func saveUndo(ctx context.Context, tx *sql.Tx, importID, projectID, externalID string, asset, answer bool) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO import_undo (import_id, asset_id, type, data, doc, storage_id, probe_state, probe_error, answer, asset_set, answer_set)
		SELECT $1, a.id, a.type, a.data, a.doc, a.storage_id, a.probe_state, a.probe_error, COALESCE(t.answer, ''), $2, $3
		FROM assets a LEFT JOIN tasks t ON t.asset_id = a.id
		WHERE a.project_id = $4 AND a.external_id = $5 AND a.import_id <> $1
		ON CONFLICT (import_id, asset_id) DO UPDATE SET asset_set = (import_undo.asset_set OR excluded.asset_set),
			answer_set = (import_undo.answer_set OR excluded.answer_set)`, importID, asset, answer, projectID, externalID)
	return err
}

// CommitLabelBatch sets the answers of the tasks of the assets named by
// ups (a label import), recording the answers before the import in
// import_undo, and commits the batch (counts, errors, next index) in the
// same transaction. It returns the indexes of the updates whose
// externalId names no asset of the project; they count as invalid.
func (s *Store) CommitLabelBatch(ctx context.Context, b labelhub.ImportBatch, userID string, ups []labelhub.LabelUpdate) ([]int, labelhub.ImportCounts, error) {
	var unmatched []int
	var delta labelhub.ImportCounts
	err := s.bulkTx(ctx, func(tx *sql.Tx) error {
		unmatched = unmatched[:0]
		errCount, err := lockImport(ctx, tx, s.postgres, b)
		if err != nil {
			return err
		}
		batch := b
		batch.Errors = append([]labelhub.ImportError(nil), b.Errors...)
		t := micros(b.Now)
		for i, u := range ups {
			if err := saveUndo(ctx, tx, b.ImportID, b.ProjectID, u.ExternalID, false, true); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE tasks SET answer = $1, answer_canonical = $7, version = version + 1, updated_at = $2, updated_by = $3
				WHERE project_id = $4 AND org_id = $5 AND asset_id IN (SELECT id FROM assets WHERE project_id = $4 AND external_id = $6)`,
				u.Answer, t, userID, b.ProjectID, b.OrgID, u.ExternalID, CanonicalAnswer(u.Answer))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				unmatched = append(unmatched, i)
				batch.Delta.Valid--
				batch.Delta.Invalid++
				batch.Errors = append(batch.Errors, labelhub.ImportError{Index: u.Index, Line: u.Line, Path: fmt.Sprintf("[%d].externalId", u.Index),
					Message: fmt.Sprintf("no asset of this project has externalId %q", u.ExternalID)})
			} else {
				batch.Delta.Updated++
			}
		}
		batch.Assets = nil
		delta, err = s.commitBatch(ctx, tx, nil, batch, errCount)
		return err
	})
	return unmatched, delta, err
}

// restoreUndo puts back up to limit assets and links an import changed
// (import_undo, import_undo_links) and returns how many.
func restoreUndo(ctx context.Context, tx *sql.Tx, orgID, id string, limit int) (int, error) {
	type undo struct {
		asset, typ, data, doc, storage, probe, probeErr, answer string
		assetSet, answerSet                                     bool
	}
	rows, err := tx.QueryContext(ctx, `SELECT asset_id, type, data, doc, storage_id, probe_state, probe_error, answer, asset_set, answer_set
		FROM import_undo WHERE import_id = $1 LIMIT $2`, id, limit)
	if err != nil {
		return 0, err
	}
	var list []undo
	for rows.Next() {
		var u undo
		if err := rows.Scan(&u.asset, &u.typ, &u.data, &u.doc, &u.storage, &u.probe, &u.probeErr, &u.answer, &u.assetSet, &u.answerSet); err != nil {
			rows.Close()
			return 0, err
		}
		list = append(list, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	t := micros(now())
	for _, u := range list {
		if u.assetSet {
			if _, err := tx.ExecContext(ctx, `UPDATE assets SET type = $1, data = $2, doc = $3, storage_id = $4, probe_state = $5, probe_error = $6
				WHERE id = $7 AND org_id = $8`, u.typ, u.data, u.doc, u.storage, u.probe, u.probeErr, u.asset, orgID); err != nil {
				return 0, err
			}
		}
		if u.answerSet {
			if _, err := tx.ExecContext(ctx, `UPDATE tasks SET answer = $1, answer_canonical = $5, version = version + 1, updated_at = $2
				WHERE asset_id = $3 AND org_id = $4`, u.answer, t, u.asset, orgID, CanonicalAnswer(u.answer)); err != nil {
				return 0, err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_undo WHERE import_id = $1 AND asset_id = $2`, id, u.asset); err != nil {
			return 0, err
		}
	}
	if len(list) > 0 {
		return len(list), nil
	}
	rows, err = tx.QueryContext(ctx, `SELECT batch_id, asset_id FROM import_undo_links WHERE import_id = $1 LIMIT $2`, id, limit)
	if err != nil {
		return 0, err
	}
	var links [][2]string
	for rows.Next() {
		var l [2]string
		if err := rows.Scan(&l[0], &l[1]); err != nil {
			rows.Close()
			return 0, err
		}
		links = append(links, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, l := range links {
		if _, err := tx.ExecContext(ctx, `DELETE FROM asset_batches WHERE batch_id = $1 AND asset_id = $2`, l[0], l[1]); err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_undo_links WHERE import_id = $1 AND batch_id = $2 AND asset_id = $3`, id, l[0], l[1]); err != nil {
			return 0, err
		}
	}
	return len(links), nil
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
	if err := s.owned(s.db.ExecContext(ctx, `UPDATE imports SET state = $1, error = $2, finished_at = $3, updated_at = $3
		WHERE id = $4 AND runner = $5 AND state = 'running'`, string(state), msg, t, id, runner)); err != nil {
		return err
	}
	if state == labelhub.ImportFailed {
		return nil // a resume goes on with what the dry run saw
	}
	// The externalIds a dry run saw are of no use any more.
	_, err := s.db.ExecContext(ctx, `DELETE FROM import_seen WHERE import_id = $1`, id)
	return err
}

// ReleaseImport implements labelhub.ImportStore.
func (s *Store) ReleaseImport(ctx context.Context, id, runner string) error {
	return s.owned(s.db.ExecContext(ctx, `UPDATE imports SET heartbeat_at = 0 WHERE id = $1 AND runner = $2 AND state = 'running'`, id, runner))
}

// importClockSkew is how far the clock of the process that made an
// import's assets may be behind that of the process that created the
// import (replicas of the hub on other machines).
const importClockSkew = time.Hour

// DeleteImportAssets implements labelhub.ImportStore.
func (s *Store) DeleteImportAssets(ctx context.Context, orgID, id string, limit int) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// What the import changed is restored first, then what it added
		// is deleted.
		var err error
		if n, err = restoreUndo(ctx, tx, orgID, id, limit); err != nil || n > 0 {
			return err
		}
		// The import's assets are found among its project's made since
		// it started (their ids are at least the floor of its creation,
		// less importClockSkew), so that no index of assets by import is
		// needed (on SQLite there is none: migration 19).
		var projectID string
		var created int64
		if err := tx.QueryRowContext(ctx, `SELECT project_id, created_at FROM imports WHERE id = $1 AND org_id = $2`, id, orgID).Scan(&projectID, &created); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			return err
		}
		floor := labelhub.IDFloor(fromMicros(created).Add(-importClockSkew))
		rows, err := tx.QueryContext(ctx, `SELECT id FROM assets WHERE project_id = $1 AND id >= $2 AND import_id = $3 AND org_id = $4
			ORDER BY id LIMIT $5`, projectID, floor, id, orgID, limit)
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
