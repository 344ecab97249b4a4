package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/labelhub/labelhub"
)

// exportWhere is the WHERE clause of an export's tasks (alias t) and its
// arguments, numbered from $1.
func exportWhere(orgID, projectID string, f labelhub.ExportFilter) (string, []any) {
	// The organisation is checked once on the project, not on every task
	// row, so that a count without filters is an index-only scan.
	q := `WHERE t.project_id = $2 AND $1 = (SELECT p.org_id FROM projects p WHERE p.id = $2)`
	args := []any{orgID, projectID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.StageID != "" {
		q += ` AND t.stage_id = ` + arg(f.StageID)
	}
	if !f.UpdatedAfter.IsZero() {
		q += ` AND t.updated_at > ` + arg(micros(f.UpdatedAfter))
	}
	if !f.UpdatedBefore.IsZero() {
		q += ` AND t.updated_at < ` + arg(micros(f.UpdatedBefore))
	}
	if len(f.BatchIDs) > 0 {
		q += ` AND EXISTS (SELECT 1 FROM asset_batches ab WHERE ab.asset_id = t.asset_id AND ab.batch_id IN (` + placeholders(len(args)+1, len(f.BatchIDs)) + `))`
		for _, b := range f.BatchIDs {
			args = append(args, b)
		}
	}
	return q, args
}

// CountExport returns how many tasks of a project an export with f
// writes.
func (s *Store) CountExport(ctx context.Context, orgID, projectID string, f labelhub.ExportFilter) (int64, error) {
	where, args := exportWhere(orgID, projectID, f)
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tasks t `+where, args...).Scan(&n)
	return n, err
}

// exportQuery is the keyset query of an export's pages: the tasks joined
// with their assets after $n+1, at most $n+2.
func exportQuery(orgID, projectID string, f labelhub.ExportFilter) (string, []any) {
	where, args := exportWhere(orgID, projectID, f)
	n := len(args)
	return `SELECT t.id, t.asset_id, t.stage_id, t.answer, t.updated_at, t.updated_by, t.total_duration_ms,
		a.external_id, a.data, a.doc, a.storage_id
		FROM tasks t JOIN assets a ON a.id = t.asset_id ` + where + ` AND t.id > $` + strconv.Itoa(n+1) +
		` ORDER BY t.id LIMIT $` + strconv.Itoa(n+2), args
}

// exportRun is the state of one export: the workflow and the emails of
// the users seen so far.
type exportRun struct {
	s       *Store
	orgID   string
	w       labelhub.Workflow
	emails  map[string]string
	history bool
	meta    bool
}

// Export reads a project's tasks that match f in id order, with their
// assets, batch names and (with history) stage history, in pages of
// labelhub.ExportPageSize, and calls fn with each page. Every page is one
// keyset query on the tasks joined with their assets, one query for the
// batches and one for the history of the page's tasks (IN lists), and one
// for the emails of users not seen before, so memory stays that of a page
// whatever the project's size (the next page is read while fn handles
// the current one). Without meta the items' metadata is removed; with it,
// its createdBy/updatedBy are emails. The page passed to fn is reused
// after fn returns. The API writes exports with WriteExport, which writes
// the JSON of these values without building them.
func (s *Store) Export(ctx context.Context, orgID, projectID string, f labelhub.ExportFilter, history, meta bool,
	fn func(page []labelhub.ExportedAsset) error) error {
	w, err := s.workflowOf(ctx, s.db, orgID, projectID, "")
	if err != nil {
		return err
	}
	run := &exportRun{s: s, orgID: orgID, w: w, emails: map[string]string{"": ""}, history: history, meta: meta}
	q, args := exportQuery(orgID, projectID, f)
	n := len(args)
	// The next page is read while fn writes the current one: two pages
	// take turns (free gives a page back to the reader).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		page []labelhub.ExportedAsset
		err  error
	}
	pages := make(chan result, 1)
	free := make(chan []labelhub.ExportedAsset, 2)
	free <- make([]labelhub.ExportedAsset, 0, labelhub.ExportPageSize)
	free <- make([]labelhub.ExportedAsset, 0, labelhub.ExportPageSize)
	go func() {
		defer close(pages)
		after := ""
		for {
			var page []labelhub.ExportedAsset
			select {
			case page = <-free:
			case <-ctx.Done():
				return
			}
			page, err := run.readPage(ctx, q, append(args[:n:n], after, labelhub.ExportPageSize), page[:0])
			select {
			case pages <- result{page, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(page) < labelhub.ExportPageSize {
				return
			}
			after = page[len(page)-1].Task.TaskID
		}
	}()
	for r := range pages {
		if r.err != nil {
			return r.err
		}
		if len(r.page) > 0 {
			if err := fn(r.page); err != nil {
				return err
			}
		}
		free <- r.page
	}
	return ctx.Err()
}

func (r *exportRun) readPage(ctx context.Context, q string, args []any, page []labelhub.ExportedAsset) ([]labelhub.ExportedAsset, error) {
	rows, err := r.s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	users := map[string]bool{}
	for rows.Next() {
		var e labelhub.ExportedAsset
		var answer, doc string
		var updated int64
		if err := rows.Scan(&e.Task.TaskID, &e.AssetID, &e.Task.StageID, &answer, &updated, &e.Task.UpdatedBy, &e.Task.TotalDuration,
			&e.ExternalID, &e.Asset, &doc, &e.StorageID); err != nil {
			return page, err
		}
		e.Task.UpdatedAt = fromMicros(updated)
		e.Task.Stage = e.Task.StageID
		if i := r.w.Index(e.Task.StageID); i >= 0 {
			e.Task.Stage = r.w.Stages[i].Name
		}
		if doc != "" && doc != "{}" {
			var d assetDoc
			if err := json.Unmarshal([]byte(doc), &d); err != nil {
				return page, fmt.Errorf("asset %s: stored document: %w", e.AssetID, err)
			}
			e.Dataset, e.Metadata, e.ContextData = d.Dataset, d.Metadata, d.ContextData
		}
		if err := decodeStoredAnswer(answer, &e.Task.Answer); err != nil {
			return page, fmt.Errorf("task %s: %w", e.Task.TaskID, err)
		}
		if r.history {
			e.Task.StageHistory = []labelhub.ExportedHistoryEntry{}
		}
		e.Batches = []string{}
		page = append(page, e)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	rows.Close()
	if len(page) == 0 {
		return page, nil
	}
	at := make(map[string]int, len(page))
	ids := make([]any, 0, len(page))
	for i := range page {
		at[page[i].AssetID] = i
		ids = append(ids, page[i].AssetID)
	}
	if err := r.batches(ctx, page, at, ids); err != nil {
		return page, err
	}
	if r.history {
		for i := range page {
			at[page[i].Task.TaskID] = i
			ids[i] = page[i].Task.TaskID
		}
		if err := r.historyOf(ctx, page, at, ids); err != nil {
			return page, err
		}
	}
	// Users to emails.
	for i := range page {
		r.users(&page[i], users)
	}
	if err := r.lookUp(ctx, users); err != nil {
		return page, err
	}
	for i := range page {
		r.rename(&page[i])
	}
	return page, nil
}

func (r *exportRun) batches(ctx context.Context, page []labelhub.ExportedAsset, at map[string]int, ids []any) error {
	return r.s.eachBatchName(ctx, ids, func(assetID, name string) {
		if i, ok := at[assetID]; ok {
			page[i].Batches = append(page[i].Batches, name)
		}
	})
}

func (r *exportRun) historyOf(ctx context.Context, page []labelhub.ExportedAsset, at map[string]int, ids []any) error {
	rows, err := r.s.db.QueryContext(ctx, `SELECT task_id, stage_id, stage_name, duration_ms, completed_at, completed_by, answer
		FROM task_history WHERE task_id IN (`+r.s.inList(1, len(ids))+`) ORDER BY task_id, seq`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, answer string
		var e labelhub.ExportedHistoryEntry
		var completed int64
		if err := rows.Scan(&id, &e.StageID, &e.Stage, &e.Duration, &completed, &e.CompletedBy, &answer); err != nil {
			return err
		}
		e.CompletedAt = fromMicros(completed)
		if err := decodeStoredAnswer(answer, &e.Answer); err != nil {
			return fmt.Errorf("history of task %s: %w", id, err)
		}
		if i, ok := at[id]; ok {
			page[i].Task.StageHistory = append(page[i].Task.StageHistory, e)
		}
	}
	return rows.Err()
}

// users adds the user ids e names that are not known yet to need, and
// removes the items' metadata when the export leaves it out.
func (r *exportRun) users(e *labelhub.ExportedAsset, need map[string]bool) {
	add := func(id string) {
		if _, ok := r.emails[id]; !ok {
			need[id] = true
		}
	}
	add(e.Task.UpdatedBy)
	answers := []*labelhub.Answer{&e.Task.Answer}
	for i := range e.Task.StageHistory {
		add(e.Task.StageHistory[i].CompletedBy)
		answers = append(answers, &e.Task.StageHistory[i].Answer)
	}
	for _, a := range answers {
		labelhub.WalkItemMeta(a, func(m *labelhub.ItemMeta) {
			if !r.meta {
				*m = labelhub.ItemMeta{}
				return
			}
			add(m.CreatedBy)
			add(m.UpdatedBy)
		})
	}
}

// lookUp reads the emails of the users in need (one query) and empties it.
// A user that no longer exists keeps its id.
func (r *exportRun) lookUp(ctx context.Context, need map[string]bool) error {
	if len(need) == 0 {
		return nil
	}
	args := []any{r.orgID}
	for id := range need {
		args = append(args, id)
		r.emails[id] = id
		delete(need, id)
	}
	rows, err := r.s.db.QueryContext(ctx, `SELECT id, email FROM users WHERE org_id = $1 AND id IN (`+placeholders(2, len(args)-1)+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, email string
		if err := rows.Scan(&id, &email); err != nil {
			return err
		}
		r.emails[id] = email
	}
	return rows.Err()
}

// rename replaces the user ids of e by emails.
func (r *exportRun) rename(e *labelhub.ExportedAsset) {
	e.Task.UpdatedBy = r.emails[e.Task.UpdatedBy]
	answers := []*labelhub.Answer{&e.Task.Answer}
	for i := range e.Task.StageHistory {
		h := &e.Task.StageHistory[i]
		h.CompletedBy = r.emails[h.CompletedBy]
		answers = append(answers, &h.Answer)
	}
	if !r.meta {
		return
	}
	for _, a := range answers {
		labelhub.WalkItemMeta(a, func(m *labelhub.ItemMeta) {
			m.CreatedBy, m.UpdatedBy = r.emails[m.CreatedBy], r.emails[m.UpdatedBy]
		})
	}
}
