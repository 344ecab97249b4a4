package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/sqlstore"
)

// taskFixture is a project with a category schema and n imported assets
// (and so n tasks in the first stage).
type taskFixture struct {
	org     labelhub.Organization
	admin   labelhub.User
	project labelhub.Project
	batch   labelhub.Batch // holds every other asset
	tasks   []string       // task ids in id order
}

const taskSchema = `{"tools": [{"schemaId": "car", "title": "Car", "tool": "bounding-box"}, {"schemaId": "road", "title": "Road", "tool": "polygon"}],
	"classifications": [{"schemaId": "weather", "title": "Weather", "tool": "radio", "options": [{"value": "sunny"}, {"value": "rain"}]}],
	"relations": [{"schemaId": "follows", "title": "Follows", "tool": "single"}]}`

// addAssets imports n assets into the project through the import path
// (CommitImportBatch), every other one into batch when batchID is set, in
// commits of up to 2,000.
func addAssets(t testing.TB, s *sqlstore.Store, orgID, userID, projectID, stageID, batchID string, n int) {
	t.Helper()
	var batchIDs []string
	if batchID != "" {
		batchIDs = []string{batchID}
	}
	addAssetsInBatches(t, s, orgID, userID, projectID, stageID, batchIDs, n)
}

// addAssetsInBatches is addAssets with every other asset in each of
// batchIDs.
func addAssetsInBatches(t testing.TB, s *sqlstore.Store, orgID, userID, projectID, stageID string, batchIDs []string, n int) {
	t.Helper()
	ctx := context.Background()
	im := labelhub.Import{ID: labelhub.NewID(), OrgID: orgID, ProjectID: projectID, Kind: labelhub.ImportKindAssets, State: labelhub.ImportRunning,
		Options: labelhub.ImportOptions{OnDuplicate: labelhub.DuplicateAllow}, CreatedBy: userID, Runner: "test"}
	if err := s.CreateImport(ctx, im); err != nil {
		t.Fatal(err)
	}
	for start := 0; start < n; start += 2000 {
		k := min(2000, n-start)
		ib := labelhub.ImportBatch{ImportID: im.ID, Runner: "test", OrgID: orgID, ProjectID: projectID, StageID: stageID,
			OnDuplicate: labelhub.DuplicateAllow, Assets: make([]labelhub.NewAsset, k), Now: time.Now(), NextIndex: int64(start + k),
			Delta: labelhub.ImportCounts{Received: int64(k), Valid: int64(k)}}
		for j := range ib.Assets {
			x := start + j
			a := labelhub.NewAsset{Index: int64(x), ID: labelhub.NewID(), ExternalID: fmt.Sprintf("img-%d.jpg", x), Type: "image",
				Data: fmt.Sprintf("https://example.com/img-%d.jpg", x), ProbeState: "none", Doc: `{"metadata":{"width":640,"height":480}}`}
			if x%2 == 0 {
				a.BatchIDs = batchIDs
			}
			ib.Assets[j] = a
		}
		if _, err := s.CommitImportBatch(ctx, ib); err != nil {
			t.Fatal(err)
		}
	}
}

func newTaskFixture(t *testing.T, s *sqlstore.Store, email string, n int) taskFixture {
	t.Helper()
	ctx := context.Background()
	org, admin, _ := newOrg(t, s, email)
	var schema labelhub.CategorySchema
	if err := json.Unmarshal([]byte(taskSchema), &schema); err != nil {
		t.Fatal(err)
	}
	name := "Tasks of " + email
	p, err := s.CreateProject(ctx, org.ID, admin.ID, labelhub.ProjectInput{Name: &name, CategorySchema: &schema})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateBatch(ctx, org.ID, p.ID, "evens")
	if err != nil {
		t.Fatal(err)
	}
	addAssets(t, s, org.ID, admin.ID, p.ID, "start", b.ID, n)
	f := taskFixture{org: org, admin: admin, project: p, batch: b}
	list, err := s.ListTasks(ctx, org.ID, p.ID, labelhub.TaskFilter{Limit: labelhub.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range list {
		f.tasks = append(f.tasks, tk.ID)
	}
	if len(f.tasks) != n {
		t.Fatalf("fixture: %d tasks, want %d", len(f.tasks), n)
	}
	return f
}

func (f taskFixture) user(t *testing.T, s *sqlstore.Store, role labelhub.Role) labelhub.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), f.org.ID, labelhub.NewUser{Email: string(role) + "-" + f.admin.Email, Name: string(role), Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// validAnswer decodes and validates an answer against the fixture schema.
func validAnswer(t *testing.T, src string) labelhub.Answer {
	t.Helper()
	a, err := labelhub.DecodeAnswer([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var schema labelhub.CategorySchema
	if err := json.Unmarshal([]byte(taskSchema), &schema); err != nil {
		t.Fatal(err)
	}
	if fes := a.Validate(schema.Index(), labelhub.LabelLimits{}, ""); len(fes) > 0 {
		t.Fatalf("answer invalid: %v", fes)
	}
	return a
}

func TestWorkflowEditing(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newTaskFixture(t, s, "wf@example.com", 3)
		w, err := s.ProjectWorkflow(ctx, f.org.ID, f.project.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Stages) != 4 || w.Stages[0].StageID != "start" || w.Stages[2].Kind != labelhub.StageReview || w.Stages[3].Kind != labelhub.StageDone {
			t.Fatalf("default workflow %+v", w)
		}
		// Invalid workflows name the path and change nothing.
		bad := labelhub.Workflow{Stages: []labelhub.WorkflowStage{{Name: "Start"}, {Name: "Label"}, {Name: ""}, {Name: "label", Kind: "review"}, {Name: "End", Kind: labelhub.StageLabel}}}
		_, err = s.SetWorkflow(ctx, f.org.ID, f.project.ID, bad)
		wantCode(t, err, labelhub.ECodeInvalid)
		for _, path := range []string{"stages[2].name", "stages[3].name", "stages[4].kind"} {
			if !strings.Contains(err.Error(), path+":") {
				t.Errorf("error %v does not name %s", err, path)
			}
		}
		// A new workflow: given ids are kept, names of current stages keep
		// their ids, new stages get new ones; the first stage's id changes,
		// and the tasks follow it.
		nw := labelhub.Workflow{Stages: []labelhub.WorkflowStage{{StageID: "todo", Name: "To do"}, {Name: "Label"}, {Name: "QA", Kind: labelhub.StageReview},
			{Name: "Second review", Kind: labelhub.StageReview}, {Name: "Done"}}}
		got, err := s.SetWorkflow(ctx, f.org.ID, f.project.ID, nw)
		if err != nil {
			t.Fatal(err)
		}
		if got.Stages[0].StageID != "todo" || got.Stages[1].StageID != "label" || got.Stages[2].StageID == "" || got.Stages[2].StageID == got.Stages[3].StageID ||
			got.Stages[0].Kind != labelhub.StageStart || got.Stages[1].Kind != labelhub.StageLabel || got.Stages[4].Kind != labelhub.StageDone {
			t.Fatalf("set workflow %+v", got)
		}
		again, err := s.ProjectWorkflow(ctx, f.org.ID, f.project.ID)
		if err != nil || fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatalf("read back %+v, %v; want %+v", again, err, got)
		}
		if first, err := s.FirstStage(ctx, f.org.ID, f.project.ID); err != nil || first != "todo" {
			t.Fatalf("FirstStage = %q, %v", first, err)
		}
		tk, err := s.GetTask(ctx, f.org.ID, f.tasks[0])
		if err != nil || tk.StageID != "todo" || tk.StageName != "To do" {
			t.Fatalf("task after the change: %+v, %v", tk, err)
		}
		// Once a task moved on, the workflow is fixed.
		if _, err := s.MoveTask(ctx, f.org.ID, f.tasks[1], f.admin, labelhub.TaskMove{Action: labelhub.TaskSubmit}); err != nil {
			t.Fatal(err)
		}
		_, err = s.SetWorkflow(ctx, f.org.ID, f.project.ID, labelhub.DefaultWorkflow())
		wantCode(t, err, labelhub.ECodeConflict)
		if !strings.Contains(err.Error(), f.tasks[1]) || !strings.Contains(err.Error(), "Label") {
			t.Errorf("conflict %v does not say which task is where", err)
		}
		if after, _ := s.ProjectWorkflow(ctx, f.org.ID, f.project.ID); fmt.Sprint(after) != fmt.Sprint(got) {
			t.Errorf("workflow changed by a refused edit: %+v", after)
		}
		// Another organisation sees nothing.
		other, _, _ := newOrg(t, s, "wf-other@example.com")
		_, err = s.ProjectWorkflow(ctx, other.ID, f.project.ID)
		wantCode(t, err, labelhub.ECodeNotFound)
		_, err = s.SetWorkflow(ctx, other.ID, f.project.ID, labelhub.DefaultWorkflow())
		wantCode(t, err, labelhub.ECodeNotFound)
	})
}

func TestTaskLifecycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newTaskFixture(t, s, "life@example.com", 2)
		labeler := f.user(t, s, labelhub.RoleLabeler)
		reviewer := f.user(t, s, labelhub.RoleReviewer)
		id := f.tasks[0]

		tk, err := s.GetTask(ctx, f.org.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if tk.StageID != "start" || tk.StageName != "Start" || tk.Version != 1 || tk.Asset.ExternalID == "" || tk.Asset.Batches[0] != "evens" ||
			tk.Answer.Tools == nil || len(tk.History) != 0 || tk.Asset.ContentURL != "/api/v1/assets/"+tk.AssetID+"/content" {
			t.Fatalf("new task %+v", tk)
		}
		// The labeler writes an answer; item metadata is the server's.
		a1 := validAnswer(t, `{"tools": [{"objectId": "c1", "schemaId": "car", "bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4},
			"createdBy": "forged"}], "classifications": [{"objectId": "w1", "schemaId": "weather", "answer": "sunny"}]}`)
		tk, err = s.PutAnswer(ctx, f.org.ID, id, labeler, 1, a1)
		if err != nil {
			t.Fatal(err)
		}
		c1 := tk.Answer.Tools[0].ItemMeta
		if tk.Version != 2 || tk.UpdatedBy != labeler.ID || c1.CreatedBy != labeler.ID || c1.UpdatedBy != labeler.ID || c1.CreatedIn != "Start" || c1.CreatedAt.IsZero() {
			t.Fatalf("after the first answer: %+v", tk)
		}
		// Stale versions are refused with the current one.
		_, err = s.PutAnswer(ctx, f.org.ID, id, labeler, 1, a1)
		wantCode(t, err, labelhub.ECodeConflict)
		if !strings.Contains(err.Error(), "version 2") {
			t.Errorf("stale write: %v", err)
		}
		// A labeler may not reject, nor submit from review.
		_, err = s.MoveTask(ctx, f.org.ID, id, labeler, labelhub.TaskMove{Action: labelhub.TaskReject})
		wantCode(t, err, labelhub.ECodeConflict) // start is not a review stage
		d := int64(1500)
		tk, err = s.MoveTask(ctx, f.org.ID, id, labeler, labelhub.TaskMove{Action: labelhub.TaskSubmit, IfMatch: 2, DurationMs: &d})
		if err != nil {
			t.Fatal(err)
		}
		if tk.StageID != "label" || tk.Version != 3 || tk.TotalDurationMs != 1500 || len(tk.History) != 1 {
			t.Fatalf("after submit: %+v", tk)
		}
		h := tk.History[0]
		if h.Seq != 1 || h.Action != "submit" || h.StageID != "start" || h.StageName != "Start" || h.ToStageID != "label" || h.DurationMs != 1500 ||
			h.CompletedBy != labeler.ID || len(h.Tools) != 1 || h.Tools[0].ObjectID != "c1" {
			t.Fatalf("history entry %+v", h)
		}
		// The reviewer changes one item in Label; the unchanged one keeps
		// its metadata, the changed one keeps created*.
		time.Sleep(2 * time.Millisecond) // distinct timestamps for the check below
		a2 := validAnswer(t, `{"tools": [{"objectId": "c1", "schemaId": "car", "bounding-box": {"x": 5, "y": 2, "width": 3, "height": 4}}],
			"classifications": [{"objectId": "w1", "schemaId": "weather", "answer": "sunny"}],
			"relations": []}`)
		tk, err = s.PutAnswer(ctx, f.org.ID, id, reviewer, 3, a2)
		if err != nil {
			t.Fatal(err)
		}
		m, w := tk.Answer.Tools[0].ItemMeta, tk.Answer.Classifications[0].ItemMeta
		if m.CreatedBy != labeler.ID || !m.CreatedAt.Equal(c1.CreatedAt) || m.CreatedIn != "Start" || m.UpdatedBy != reviewer.ID || m.UpdatedIn != "Label" || !m.UpdatedAt.After(c1.UpdatedAt) {
			t.Errorf("changed item meta %+v (was %+v)", m, c1)
		}
		if w.UpdatedBy != labeler.ID || w.UpdatedIn != "Start" {
			t.Errorf("unchanged item meta %+v", w)
		}
		tk, err = s.MoveTask(ctx, f.org.ID, id, labeler, labelhub.TaskMove{Action: labelhub.TaskSubmit})
		if err != nil || tk.StageID != "review" {
			t.Fatalf("submit to review: %+v, %v", tk, err)
		}
		// In review the labeler may do nothing; the reviewer rejects.
		_, err = s.PutAnswer(ctx, f.org.ID, id, labeler, tk.Version, a2)
		wantCode(t, err, labelhub.ECodeForbidden)
		_, err = s.MoveTask(ctx, f.org.ID, id, labeler, labelhub.TaskMove{Action: labelhub.TaskSubmit})
		wantCode(t, err, labelhub.ECodeForbidden)
		tk, err = s.MoveTask(ctx, f.org.ID, id, reviewer, labelhub.TaskMove{Action: labelhub.TaskReject})
		if err != nil || tk.StageID != "label" || tk.History[2].Action != "reject" || tk.History[2].ToStageID != "label" {
			t.Fatalf("reject: %+v, %v", tk, err)
		}
		for _, who := range []labelhub.User{labeler, reviewer} {
			if tk, err = s.MoveTask(ctx, f.org.ID, id, who, labelhub.TaskMove{Action: labelhub.TaskSubmit}); err != nil {
				t.Fatalf("submit by %s in %s: %v", who.Role, tk.StageID, err)
			}
		}
		if tk.StageID != "complete" || tk.StageKind != labelhub.StageDone || len(tk.History) != 5 {
			t.Fatalf("at the end: %+v", tk)
		}
		var sum int64
		for i, h := range tk.History {
			if h.Seq != int64(i+1) || h.DurationMs < 0 {
				t.Errorf("history[%d] = %+v", i, h)
			}
			sum += h.DurationMs
		}
		if sum != tk.TotalDurationMs {
			t.Errorf("totalDuration %d, sum of durations %d", tk.TotalDurationMs, sum)
		}
		_, err = s.MoveTask(ctx, f.org.ID, id, f.admin, labelhub.TaskMove{Action: labelhub.TaskSubmit})
		wantCode(t, err, labelhub.ECodeConflict)
		if !strings.Contains(err.Error(), "last stage (Complete)") {
			t.Errorf("submit from the last stage: %v", err)
		}
		// Other organisations get not found for everything.
		other, otherAdmin, _ := newOrg(t, s, "life-other@example.com")
		_, err = s.GetTask(ctx, other.ID, id)
		wantCode(t, err, labelhub.ECodeNotFound)
		_, err = s.PutAnswer(ctx, other.ID, id, otherAdmin, tk.Version, a2)
		wantCode(t, err, labelhub.ECodeNotFound)
		_, err = s.MoveTask(ctx, other.ID, id, otherAdmin, labelhub.TaskMove{Action: labelhub.TaskSubmit})
		wantCode(t, err, labelhub.ECodeNotFound)
		_, err = s.ListTasks(ctx, other.ID, f.project.ID, labelhub.TaskFilter{})
		wantCode(t, err, labelhub.ECodeNotFound)
	})
}

// TestConcurrentAnswersLoseNothing has writers add one object each to the
// same task, reading and retrying on conflicts: every object must be in
// the final answer and the version must count every write.
func TestConcurrentAnswersLoseNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newTaskFixture(t, s, "race@example.com", 1)
		id := f.tasks[0]
		const writers, each = 6, 4
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		conflicts := make(chan int, writers)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := 0
				for k := 0; k < each; k++ {
					for {
						tk, err := s.GetTask(ctx, f.org.ID, id)
						if err != nil {
							errs <- err
							return
						}
						a := tk.Answer
						a.Tools = append(a.Tools, labelhub.Object{ObjectID: fmt.Sprintf("w%d-%d", w, k), SchemaID: "car",
							BoundingBox: &labelhub.Box{X: float64(w), Y: float64(k), Width: 1, Height: 1}})
						_, err = s.PutAnswer(ctx, f.org.ID, id, f.admin, tk.Version, a)
						if labelhub.ErrorCode(err) == labelhub.ECodeConflict {
							n++
							continue
						}
						if err != nil {
							errs <- err
							return
						}
						break
					}
				}
				conflicts <- n
			}()
		}
		wg.Wait()
		close(errs)
		close(conflicts)
		for err := range errs {
			t.Fatal(err)
		}
		total := 0
		for n := range conflicts {
			total += n
		}
		tk, err := s.GetTask(ctx, f.org.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(tk.Answer.Tools) != writers*each || tk.Version != 1+writers*each {
			t.Fatalf("%d objects at version %d, want %d at %d (%d conflicts retried)", len(tk.Answer.Tools), tk.Version, writers*each, 1+writers*each, total)
		}
		seen := map[string]bool{}
		for _, o := range tk.Answer.Tools {
			seen[o.ObjectID] = true
		}
		if len(seen) != writers*each {
			t.Fatalf("objects %v", seen)
		}
		t.Logf("%d writes, %d conflicts retried", writers*each, total)
	})
}

func TestListTasksFiltersAndPages(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newTaskFixture(t, s, "list@example.com", 30)
		labeler := f.user(t, s, labelhub.RoleLabeler)
		mid := time.Now().UTC()
		// Tasks 0..9 go to Label, by the labeler.
		for _, id := range f.tasks[:10] {
			if _, err := s.MoveTask(ctx, f.org.ID, id, labeler, labelhub.TaskMove{Action: labelhub.TaskSubmit}); err != nil {
				t.Fatal(err)
			}
		}
		all := func(filter labelhub.TaskFilter, pageSize int) []string {
			var ids []string
			filter.Limit = pageSize
			for {
				page, err := s.ListTasks(ctx, f.org.ID, f.project.ID, filter)
				if err != nil {
					t.Fatal(err)
				}
				for _, tk := range page {
					ids = append(ids, tk.ID)
				}
				if len(page) < pageSize {
					return ids
				}
				filter.After = page[len(page)-1].ID
			}
		}
		if got := all(labelhub.TaskFilter{}, 7); fmt.Sprint(got) != fmt.Sprint(f.tasks) {
			t.Fatalf("all tasks in pages of 7: %v", got)
		}
		if got := all(labelhub.TaskFilter{StageID: "label"}, 3); fmt.Sprint(got) != fmt.Sprint(f.tasks[:10]) {
			t.Errorf("stage label: %v", got)
		}
		if got := all(labelhub.TaskFilter{UpdatedBy: labeler.ID}, 4); fmt.Sprint(got) != fmt.Sprint(f.tasks[:10]) {
			t.Errorf("updatedBy: %v", got)
		}
		if got := all(labelhub.TaskFilter{UpdatedAfter: mid.Add(-time.Millisecond)}, 100); fmt.Sprint(got) != fmt.Sprint(f.tasks[:10]) {
			t.Errorf("updatedAfter: %v", got)
		}
		if got := all(labelhub.TaskFilter{UpdatedBefore: mid.Add(-time.Millisecond)}, 100); fmt.Sprint(got) != fmt.Sprint(f.tasks[10:]) {
			t.Errorf("updatedBefore: %v", got)
		}
		var evens []string
		for _, id := range f.tasks {
			tk, err := s.GetTask(ctx, f.org.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(tk.Asset.Batches) == 1 {
				evens = append(evens, id)
			}
		}
		if got := all(labelhub.TaskFilter{BatchID: f.batch.ID}, 4); len(evens) != 15 || fmt.Sprint(got) != fmt.Sprint(evens) {
			t.Errorf("batch: %v, want %v", got, evens)
		}
		got := all(labelhub.TaskFilter{BatchID: f.batch.ID, StageID: "label", UpdatedBy: labeler.ID}, 2)
		if len(got) != 5 {
			t.Errorf("batch+stage+updatedBy: %v", got)
		}
		list, err := s.ListTasks(ctx, f.org.ID, f.project.ID, labelhub.TaskFilter{Limit: 2})
		if err != nil || len(list) != 2 || list[0].History != nil || list[0].StageName != "Label" || list[0].Asset.ExternalID == "" {
			t.Errorf("list items %+v, %v", list, err)
		}
	})
}

// TestTaskQueryPlans checks that the list's filters use their indexes.
// SQLite plans without statistics, so its plan is the one a big project
// gets; PostgreSQL plans by table size, so on this small table its plans
// are only logged (BenchmarkListTasks prints them at a million tasks).
func TestTaskQueryPlans(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		f := newTaskFixture(t, s, "plan@example.com", 50)
		for _, c := range []struct {
			name   string
			filter labelhub.TaskFilter
			index  string
		}{
			{"all", labelhub.TaskFilter{}, "tasks_project"},
			{"stage", labelhub.TaskFilter{StageID: "label"}, "tasks_stage"},
			{"updatedBy", labelhub.TaskFilter{UpdatedBy: f.admin.ID}, "tasks_updated_by"},
		} {
			plan, err := s.ExplainListTasks(context.Background(), f.org.ID, f.project.ID, c.filter)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", c.name, plan)
			if s.Dialect() == "sqlite" && !strings.Contains(plan, c.index) {
				t.Errorf("%s: plan does not use %s:\n%s", c.name, c.index, plan)
			}
		}
	})
}

// The task an answer write, a submit or a reject replies with is the one
// a read right after returns: the writes build their reply from the row
// they locked instead of reading the task again.
func TestTaskWriteRepliesAreTheStoredTask(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		f := newTaskFixture(t, s, "reply@example.com", 2)
		id := f.tasks[0]
		check := func(what string, got labelhub.Task, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			want, err := s.GetTask(ctx, f.org.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s replied\n%+v\nand a read gives\n%+v", what, got, want)
			}
		}
		a := validAnswer(t, `{"tools": [{"objectId": "c1", "schemaId": "car", "bounding-box": {"x": 1, "y": 2, "width": 3, "height": 4}}],
			"classifications": [{"objectId": "w1", "schemaId": "weather", "answer": "sunny"}]}`)
		tk, err := s.PutAnswer(ctx, f.org.ID, id, f.admin, 1, a)
		check("the first answer", tk, err)
		tk, err = s.MoveTask(ctx, f.org.ID, id, f.admin, labelhub.TaskMove{Action: labelhub.TaskSubmit})
		check("submit", tk, err)
		tk, err = s.PutAnswer(ctx, f.org.ID, id, f.admin, tk.Version, validAnswer(t, `{"tools": []}`))
		check("the second answer", tk, err)
		tk, err = s.MoveTask(ctx, f.org.ID, id, f.admin, labelhub.TaskMove{Action: labelhub.TaskSubmit})
		check("submit to review", tk, err)
		tk, err = s.MoveTask(ctx, f.org.ID, id, f.admin, labelhub.TaskMove{Action: labelhub.TaskReject, IfMatch: tk.Version})
		check("reject", tk, err)
	})
}
