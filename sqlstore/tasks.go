package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/labelhub/labelhub"
)

// emptyAnswer is the stored form of a task without an answer.
const emptyAnswer = `{"tools":[],"classifications":[],"relations":[]}`

// parseWorkflow reads projects.workflow: "" is the default workflow; a
// stage without a kind (a list of plain stages) gets the kind of its
// position.
func parseWorkflow(text string) (labelhub.Workflow, error) {
	if text == "" {
		return labelhub.DefaultWorkflow(), nil
	}
	var w labelhub.Workflow
	if err := json.Unmarshal([]byte(text), &w.Stages); err != nil {
		return w, fmt.Errorf("projects.workflow: %w", err)
	}
	if len(w.Stages) == 0 {
		return labelhub.DefaultWorkflow(), nil
	}
	for i := range w.Stages {
		if w.Stages[i].Kind == "" {
			switch i {
			case 0:
				w.Stages[i].Kind = labelhub.StageStart
			case len(w.Stages) - 1:
				w.Stages[i].Kind = labelhub.StageDone
			default:
				w.Stages[i].Kind = labelhub.StageLabel
			}
		}
	}
	return w, nil
}

// workflowOf reads a project's workflow; lock is appended to the query
// (" FOR SHARE", " FOR UPDATE" on PostgreSQL).
func (s *Store) workflowOf(ctx context.Context, q querier, orgID, projectID, lock string) (labelhub.Workflow, error) {
	var text string
	if !s.postgres {
		lock = ""
	}
	if err := q.QueryRowContext(ctx, `SELECT workflow FROM projects WHERE org_id = $1 AND id = $2`+lock, orgID, projectID).Scan(&text); err != nil {
		return labelhub.Workflow{}, notFound(err, "project")
	}
	return parseWorkflow(text)
}

// Workflow returns the stages of a project's workflow, in order, without
// their kinds (ProjectWorkflow has them).
func (s *Store) Workflow(ctx context.Context, orgID, projectID string) ([]labelhub.Stage, error) {
	w, err := s.ProjectWorkflow(ctx, orgID, projectID)
	if err != nil {
		return nil, err
	}
	return w.Plain(), nil
}

// ProjectWorkflow implements labelhub.TaskStore.
func (s *Store) ProjectWorkflow(ctx context.Context, orgID, projectID string) (labelhub.Workflow, error) {
	return s.workflowOf(ctx, s.db, orgID, projectID, "")
}

// SetWorkflow implements labelhub.TaskStore. A stage given without a
// stageId keeps the id of the current stage of the same name. The
// workflow can change only while every task of the project is in the
// first stage; the tasks follow the first stage when its id changes.
func (s *Store) SetWorkflow(ctx context.Context, orgID, projectID string, w labelhub.Workflow) (labelhub.Workflow, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := s.workflowOf(ctx, tx, orgID, projectID, " FOR UPDATE")
		if err != nil {
			return err
		}
		byName := map[string]string{}
		for _, st := range cur.Stages {
			byName[strings.ToLower(strings.TrimSpace(st.Name))] = st.StageID
		}
		taken := map[string]bool{}
		for _, st := range w.Stages {
			taken[st.StageID] = true
		}
		for i := range w.Stages {
			if w.Stages[i].StageID == "" {
				if id := byName[strings.ToLower(strings.TrimSpace(w.Stages[i].Name))]; id != "" && !taken[id] {
					w.Stages[i].StageID = id
					taken[id] = true
				}
			}
		}
		if err := w.Validate(); err != nil {
			return err
		}
		first := cur.Stages[0]
		var taskID, stageID string
		err = tx.QueryRowContext(ctx, `SELECT id, stage_id FROM tasks WHERE org_id = $1 AND project_id = $2 AND stage_id <> $3 LIMIT 1`,
			orgID, projectID, first.StageID).Scan(&taskID, &stageID)
		switch {
		case err == nil:
			name := stageID
			if i := cur.Index(stageID); i >= 0 {
				name = cur.Stages[i].Name
			}
			return labelhub.Errorf(labelhub.ECodeConflict,
				"the workflow can change only while every task is in the first stage (%s); task %s is in stage %s", first.Name, taskID, name)
		case err != sql.ErrNoRows:
			return err
		}
		text, err := json.Marshal(w.Stages)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE projects SET workflow = $1, updated_at = $2 WHERE org_id = $3 AND id = $4`,
			string(text), micros(now()), orgID, projectID); err != nil {
			return err
		}
		if nf := w.Stages[0].StageID; nf != first.StageID {
			_, err = tx.ExecContext(ctx, `UPDATE tasks SET stage_id = $1 WHERE org_id = $2 AND project_id = $3 AND stage_id = $4`,
				nf, orgID, projectID, first.StageID)
		}
		return err
	})
	return w, err
}

// taskColumns are the columns of taskRow.
const taskColumns = `t.id, t.project_id, t.asset_id, t.stage_id, t.answer, t.version, t.created_at, t.updated_at, t.updated_by,
	t.stage_entered_at, t.total_duration_ms, a.external_id, a.type, a.data, a.doc, a.storage_id`

const taskSelect = `SELECT ` + taskColumns + `
	FROM tasks t JOIN assets a ON a.id = t.asset_id `

func scanTask(row interface{ Scan(...any) error }, w labelhub.Workflow) (labelhub.Task, error) {
	var r taskRow
	if err := row.Scan(r.dest()...); err != nil {
		return r.t, err
	}
	return r.task(w)
}

// taskRow is a row of taskSelect as scanned.
type taskRow struct {
	t                         labelhub.Task
	answer, doc               string
	created, updated, entered int64
}

func (r *taskRow) dest() []any {
	t := &r.t
	return []any{&t.ID, &t.ProjectID, &t.AssetID, &t.StageID, &r.answer, &t.Version, &r.created, &r.updated, &t.UpdatedBy,
		&r.entered, &t.TotalDurationMs, &t.Asset.ExternalID, &t.Asset.Type, &t.Asset.Data, &r.doc, &t.Asset.StorageID}
}

// task completes the scanned task: times, stage name and kind in w, the
// decoded answer, the asset's content URL and pages.
func (r *taskRow) task(w labelhub.Workflow) (labelhub.Task, error) {
	t := r.t
	if r.entered == 0 {
		r.entered = r.created
	}
	t.CreatedAt, t.UpdatedAt, t.StageEnteredAt = fromMicros(r.created), fromMicros(r.updated), fromMicros(r.entered)
	t.StageName = t.StageID
	if i := w.Index(t.StageID); i >= 0 {
		t.StageName, t.StageKind = w.Stages[i].Name, w.Stages[i].Kind
	}
	if err := decodeStoredAnswer(r.answer, &t.Answer); err != nil {
		return t, fmt.Errorf("task %s: %w", t.ID, err)
	}
	t.Asset.ID = t.AssetID
	t.Asset.ContentURL = "/api/v1/assets/" + t.AssetID + "/content"
	if strings.Contains(r.doc, `"dataset"`) {
		var d assetDoc
		if err := json.Unmarshal([]byte(r.doc), &d); err == nil {
			t.Asset.Pages = len(d.Dataset)
		}
	}
	return t, nil
}

func decodeStoredAnswer(text string, a *labelhub.Answer) error {
	if text != "" {
		if err := json.Unmarshal([]byte(text), a); err != nil {
			return fmt.Errorf("stored answer: %w", err)
		}
	}
	labelhub.NormalizeAnswer(a)
	return nil
}

// ListTasks returns a project's tasks in id order, after f.After, at most
// f.Limit (without history; with the asset's batch names). Each filter has an index that serves it in
// id order, except the updated-at range (docs/tasks.md).
func (s *Store) ListTasks(ctx context.Context, orgID, projectID string, f labelhub.TaskFilter) ([]labelhub.Task, error) {
	limit := f.Limit
	if limit == 0 {
		limit = labelhub.DefaultPageLimit
	}
	if limit < 1 || limit > labelhub.MaxPageLimit+1 {
		return nil, labelhub.Invalid("invalid page", labelhub.FieldError{Path: "limit", Message: fmt.Sprintf("must be between 1 and %d", labelhub.MaxPageLimit)})
	}
	w, err := s.workflowOf(ctx, s.db, orgID, projectID, "")
	if err != nil {
		return nil, err
	}
	q, args := listTasksQuery(orgID, projectID, f, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]labelhub.Task, 0, min(limit, 64))
	for rows.Next() {
		t, err := scanTask(rows, w)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	return out, s.taskBatches(ctx, out)
}

// taskBatches sets the batch names of the tasks' assets, with one query.
func (s *Store) taskBatches(ctx context.Context, list []labelhub.Task) error {
	at := make(map[string]int, len(list))
	ids := make([]any, 0, len(list))
	for i, t := range list {
		at[t.AssetID] = i
		ids = append(ids, t.AssetID)
	}
	return s.eachBatchName(ctx, ids, func(assetID, name string) {
		list[at[assetID]].Asset.Batches = append(list[at[assetID]].Asset.Batches, name)
	})
}

// listTasksQuery is the query of ListTasks.
func listTasksQuery(orgID, projectID string, f labelhub.TaskFilter, limit int) (string, []any) {
	q := taskSelect + `WHERE t.org_id = $1 AND t.project_id = $2`
	args := []any{orgID, projectID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.StageID != "" {
		q += ` AND t.stage_id = ` + arg(f.StageID)
	}
	if f.UpdatedBy != "" {
		// The literal term lets the planner use the partial index
		// tasks_updated_by (migration 14).
		q += ` AND t.updated_by <> '' AND t.updated_by = ` + arg(f.UpdatedBy)
	}
	if !f.UpdatedAfter.IsZero() {
		q += ` AND t.updated_at > ` + arg(micros(f.UpdatedAfter))
	}
	if !f.UpdatedBefore.IsZero() {
		q += ` AND t.updated_at < ` + arg(micros(f.UpdatedBefore))
	}
	if f.BatchID != "" {
		q += ` AND EXISTS (SELECT 1 FROM asset_batches ab WHERE ab.batch_id = ` + arg(f.BatchID) + ` AND ab.asset_id = t.asset_id)`
	}
	q += ` AND t.id > ` + arg(f.After) + ` ORDER BY t.id LIMIT ` + arg(limit)
	return q, args
}

// ExplainListTasks returns the database's plan for ListTasks with f, one
// line per plan row, for checking that the filters use their indexes.
func (s *Store) ExplainListTasks(ctx context.Context, orgID, projectID string, f labelhub.TaskFilter) (string, error) {
	limit := f.Limit
	if limit == 0 {
		limit = labelhub.DefaultPageLimit
	}
	q, args := listTasksQuery(orgID, projectID, f, limit)
	if s.postgres {
		q = "EXPLAIN " + q
	} else {
		q = "EXPLAIN QUERY PLAN " + q
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// GetTask returns a task with its asset summary (and the asset's batch
// names) and its full history; another organisation's task is not found.
func (s *Store) GetTask(ctx context.Context, orgID, taskID string) (labelhub.Task, error) {
	return s.getTask(ctx, s.db, orgID, taskID)
}

func (s *Store) getTask(ctx context.Context, q querier, orgID, taskID string) (labelhub.Task, error) {
	var projectID string
	if err := q.QueryRowContext(ctx, `SELECT project_id FROM tasks WHERE org_id = $1 AND id = $2`, orgID, taskID).Scan(&projectID); err != nil {
		return labelhub.Task{}, notFound(err, "task")
	}
	w, err := s.workflowOf(ctx, q, orgID, projectID, "")
	if err != nil {
		return labelhub.Task{}, err
	}
	t, err := scanTask(q.QueryRowContext(ctx, taskSelect+`WHERE t.org_id = $1 AND t.id = $2`, orgID, taskID), w)
	if err != nil {
		return t, notFound(err, "task")
	}
	err = s.taskDetails(ctx, q, &t, w)
	return t, err
}

// taskDetails reads what a task has beside its row: the names of its
// asset's batches and its history.
func (s *Store) taskDetails(ctx context.Context, q querier, t *labelhub.Task, w labelhub.Workflow) error {
	rows, err := q.QueryContext(ctx, `SELECT b.name FROM asset_batches ab JOIN batches b ON b.id = ab.batch_id WHERE ab.asset_id = $1 ORDER BY b.name`, t.AssetID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		t.Asset.Batches = append(t.Asset.Batches, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	t.History, err = s.taskHistory(ctx, q, t.ID, w)
	return err
}

func (s *Store) taskHistory(ctx context.Context, q querier, taskID string, w labelhub.Workflow) ([]labelhub.TaskHistoryEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, action, stage_id, stage_name, to_stage_id, duration_ms, completed_at, completed_by, answer
		FROM task_history WHERE task_id = $1 ORDER BY seq`, taskID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []labelhub.TaskHistoryEntry{}
	for rows.Next() {
		var e labelhub.TaskHistoryEntry
		var at int64
		var answer string
		if err := rows.Scan(&e.Seq, &e.Action, &e.StageID, &e.StageName, &e.ToStageID, &e.DurationMs, &at, &e.CompletedBy, &answer); err != nil {
			return nil, err
		}
		e.CompletedAt = fromMicros(at)
		if err := decodeStoredAnswer(answer, &e.Answer); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// taskState is what a write reads of a task, in its transaction.
type taskState struct {
	task    labelhub.Task // as stored, without batches and history
	answer  string        // the stored answer's text
	entered int64
	w       labelhub.Workflow
	stage   labelhub.WorkflowStage
	index   int
}

// lockTask reads a task for a write, with its asset and its project's
// workflow in the same query: the task's row locked on PostgreSQL (SQLite
// transactions take the write lock when they begin), the project's row
// shared against a concurrent workflow change. The write then builds its
// reply from it instead of reading the task again.
func (s *Store) lockTask(ctx context.Context, tx *sql.Tx, orgID, taskID string) (taskState, error) {
	var st taskState
	lock := ""
	if s.postgres {
		lock = " FOR UPDATE OF t FOR SHARE OF p"
	}
	var r taskRow
	var workflow string
	err := tx.QueryRowContext(ctx, `SELECT `+taskColumns+`, p.workflow
		FROM tasks t JOIN assets a ON a.id = t.asset_id JOIN projects p ON p.id = t.project_id WHERE t.org_id = $1 AND t.id = $2`+lock,
		orgID, taskID).Scan(append(r.dest(), &workflow)...)
	if err != nil {
		return st, notFound(err, "task")
	}
	if st.w, err = parseWorkflow(workflow); err != nil {
		return st, err
	}
	if st.task, err = r.task(st.w); err != nil {
		return st, err
	}
	st.answer, st.entered = r.answer, micros(st.task.StageEnteredAt)
	st.index = st.w.Index(st.task.StageID)
	if st.index < 0 {
		return st, labelhub.Errorf(labelhub.ECodeConflict, "the task is in stage %q, which is not in the project's workflow", st.task.StageID)
	}
	st.stage = st.w.Stages[st.index]
	return st, nil
}

// StaleVersion is the conflict of a write made against another version
// than the task's.
func StaleVersion(current int64) error {
	return &labelhub.Error{Code: labelhub.ECodeConflict, Message: "the task changed since you read it; read it again and retry",
		Details: []labelhub.FieldError{{Path: "If-Match", Message: "the task is at version " + strconv.FormatInt(current, 10)}}}
}

func mayWork(actor labelhub.User, st labelhub.WorkflowStage) error {
	if labelhub.CanWork(actor.Role, st.Kind) {
		return nil
	}
	return labelhub.Errorf(labelhub.ECodeForbidden, "your role (%s) may not work on tasks in the %s stage %s", actor.Role, st.Kind, st.Name)
}

// PutAnswer implements labelhub.TaskStore. The item metadata of a is set
// from the stored answer (labelhub.MergeItemMeta).
func (s *Store) PutAnswer(ctx context.Context, orgID, taskID string, actor labelhub.User, ifMatch int64, a labelhub.Answer) (labelhub.Task, error) {
	var out labelhub.Task
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st, err := s.lockTask(ctx, tx, orgID, taskID)
		if err != nil {
			return err
		}
		if err := mayWork(actor, st.stage); err != nil {
			return err
		}
		version := st.task.Version
		if ifMatch != version {
			return StaleVersion(version)
		}
		prev := st.task.Answer
		next := a
		labelhub.NormalizeAnswer(&next)
		t := now()
		labelhub.MergeItemMeta(prev, &next, actor.ID, st.stage.Name, t)
		text, err := json.Marshal(next)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET answer = $1, answer_canonical = $2, version = version + 1, updated_at = $3, updated_by = $4
			WHERE org_id = $5 AND id = $6 AND version = $7`, string(text), CanonicalAnswer(string(text)), micros(t), actor.ID, orgID, taskID, version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return StaleVersion(version + 1)
		}
		// The reply is the row as now stored; its answer decoded from the
		// stored text, as a read would.
		out = st.task
		out.Answer = labelhub.Answer{}
		if err := decodeStoredAnswer(string(text), &out.Answer); err != nil {
			return err
		}
		out.Version, out.UpdatedAt, out.UpdatedBy = version+1, t, actor.ID
		return s.taskDetails(ctx, tx, &out, st.w)
	})
	return out, err
}

// MoveTask implements labelhub.TaskStore: a submit moves the task to the
// next stage, a reject (review stages only) to the previous one; either
// appends a history entry with the time spent in the stage and a snapshot
// of the answer.
func (s *Store) MoveTask(ctx context.Context, orgID, taskID string, actor labelhub.User, m labelhub.TaskMove) (labelhub.Task, error) {
	var out labelhub.Task
	err := s.tx(ctx, func(tx *sql.Tx) error {
		st, err := s.lockTask(ctx, tx, orgID, taskID)
		if err != nil {
			return err
		}
		var to int
		switch m.Action {
		case labelhub.TaskSubmit:
			if st.index == len(st.w.Stages)-1 {
				return labelhub.Errorf(labelhub.ECodeConflict, "the task is in the last stage (%s); there is no stage to submit it to", st.stage.Name)
			}
			to = st.index + 1
		case labelhub.TaskReject:
			if st.stage.Kind != labelhub.StageReview {
				return labelhub.Errorf(labelhub.ECodeConflict, "the task is in the %s stage %s; only review stages reject", st.stage.Kind, st.stage.Name)
			}
			to = st.index - 1
		default:
			return fmt.Errorf("move task: unknown action %q", m.Action)
		}
		if err := mayWork(actor, st.stage); err != nil {
			return err
		}
		version := st.task.Version
		if m.IfMatch > 0 && m.IfMatch != version {
			return StaleVersion(version)
		}
		t := now()
		var dur int64
		if m.DurationMs != nil {
			dur = *m.DurationMs
		} else {
			dur = max(0, (micros(t)-st.entered)/1000)
		}
		next := st.w.Stages[to]
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET stage_id = $1, version = version + 1, updated_at = $2, updated_by = $3,
			stage_entered_at = $2, total_duration_ms = total_duration_ms + $4 WHERE org_id = $5 AND id = $6 AND version = $7`,
			next.StageID, micros(t), actor.ID, dur, orgID, taskID, version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return StaleVersion(version + 1)
		}
		var seq int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM task_history WHERE task_id = $1`, taskID).Scan(&seq); err != nil {
			return err
		}
		answer := st.answer
		if answer == "" {
			answer = emptyAnswer
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO task_history (task_id, seq, org_id, project_id, action, stage_id, stage_name, to_stage_id,
			duration_ms, completed_at, completed_by, answer, answer_canonical) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			taskID, seq, orgID, st.task.ProjectID, m.Action, st.stage.StageID, st.stage.Name, next.StageID, dur, micros(t), actor.ID,
			answer, CanonicalAnswer(answer)); err != nil {
			return err
		}
		out = st.task
		out.StageID, out.StageName, out.StageKind = next.StageID, next.Name, next.Kind
		out.Version, out.UpdatedAt, out.UpdatedBy, out.StageEnteredAt = version+1, t, actor.ID, t
		out.TotalDurationMs += dur
		return s.taskDetails(ctx, tx, &out, st.w)
	})
	return out, err
}
