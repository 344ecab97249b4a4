package client_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

func TestTasksAndWorkflow(t *testing.T) {
	h := newHub(t)
	ctx := context.Background()
	c := client.New(h.URL, h.RootKey)
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "labels", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema labelhub.CategorySchema
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	p, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: ptr("Tasks"), CategorySchema: &schema})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.SetWorkflow(ctx, p.ID, labelhub.Workflow{Stages: []labelhub.WorkflowStage{{Name: "Start"}, {Name: "QA", Kind: labelhub.StageReview}, {Name: "Done"}}})
	if err != nil || len(w.Stages) != 3 || w.Stages[1].StageID == "" {
		t.Fatalf("SetWorkflow %+v, %v", w, err)
	}
	_, err = c.SetWorkflow(ctx, p.ID, labelhub.Workflow{Stages: []labelhub.WorkflowStage{{Name: "Only"}}})
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "stages") {
		t.Fatalf("one-stage workflow: %v", e)
	}
	if got, err := c.GetWorkflow(ctx, p.ID); err != nil || got.Stages[1] != w.Stages[1] {
		t.Fatalf("GetWorkflow %+v, %v", got, err)
	}
	st, err := c.Import(ctx, p.ID, strings.NewReader(`{"externalId":"a.jpg","data":"https://example.com/a.jpg","batches":["b"]}
{"externalId":"b.jpg","data":"https://example.com/b.jpg"}
{"externalId":"c.jpg","data":"https://example.com/c.jpg","batches":["b"]}`), client.ImportOptions{Wait: true, CreateBatches: true})
	if err != nil || st.State != "succeeded" {
		t.Fatalf("import %+v, %v", st, err)
	}
	var all []labelhub.Task
	for tk, err := range client.All(ctx, func(ctx context.Context, pr labelhub.PageRequest) (labelhub.Page[labelhub.Task], error) {
		pr.Limit = 1
		return c.ListTasks(ctx, p.ID, client.TaskQuery{Batch: "b"}, pr)
	}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, tk)
	}
	if len(all) != 2 || all[0].Asset.ExternalID != "a.jpg" || all[1].Asset.ExternalID != "c.jpg" {
		t.Fatalf("batch b, one per page: %+v", all)
	}
	id := all[0].ID
	a := labelhub.Answer{Tools: []labelhub.Object{{ObjectID: "k", SchemaID: "keypoint", Point: &labelhub.Point{1, 2}}}}
	tk, err := c.PutAnswer(ctx, id, 1, a)
	if err != nil || tk.Version != 2 || tk.Answer.Tools[0].Title != "Keypoint" || tk.Answer.Tools[0].CreatedBy == "" {
		t.Fatalf("PutAnswer %+v, %v", tk, err)
	}
	_, err = c.PutAnswer(ctx, id, 1, a)
	if e := wantCode(t, err, labelhub.ECodeConflict); !hasDetail(e, "If-Match") || !strings.Contains(e.Details[0].Message, "version 2") {
		t.Fatalf("stale PutAnswer: %+v", e)
	}
	_, err = c.PutAnswerJSON(ctx, id, 2, []byte(`{"tools": [{"schemaId": "road", "polygon": [[0, 0], [1, 1]]}]}`))
	if e := wantCode(t, err, labelhub.ECodeInvalid); !hasDetail(e, "tools[0].polygon") {
		t.Fatalf("invalid answer: %+v", e)
	}
	_, err = c.RejectTask(ctx, id, client.MoveOptions{})
	wantCode(t, err, labelhub.ECodeConflict) // Start is no review stage
	d := int64(99)
	if tk, err = c.SubmitTask(ctx, id, client.MoveOptions{Version: 2, DurationMs: &d}); err != nil || tk.StageName != "QA" || tk.TotalDurationMs != 99 {
		t.Fatalf("SubmitTask %+v, %v", tk, err)
	}
	if tk, err = c.RejectTask(ctx, id, client.MoveOptions{}); err != nil || tk.StageID != "start" || len(tk.History) != 2 {
		t.Fatalf("RejectTask %+v, %v", tk, err)
	}
	got, err := c.GetTask(ctx, id)
	if err != nil || got.Version != tk.Version || got.History[1].Action != labelhub.TaskReject {
		t.Fatalf("GetTask %+v, %v", got, err)
	}
	_, err = c.GetTask(ctx, "06h07n0hmwn9nh4xc96pss435c")
	wantCode(t, err, labelhub.ECodeNotFound)
}
