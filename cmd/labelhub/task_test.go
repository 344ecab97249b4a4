package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/client"
)

// TestTaskCommandsStartToComplete takes a task from Start to Complete with
// the task commands: an answer from a file, submits, a reject in review,
// and checks the history the hub kept.
func TestTaskCommandsStartToComplete(t *testing.T) {
	h := newTestHub(t)
	ctx := context.Background()
	schema := filepath.Join("..", "..", "testdata", "labels", "schema.json")
	p := decodeJSON[labelhub.Project](t, h.as(t, "project", "create", "Tasks", "--schema", schema, "-o", "json"))
	c := client.New(h.URL, h.Key)
	st, err := c.Import(ctx, p.ID, strings.NewReader(`[{"externalId":"a.jpg","data":"https://example.com/a.jpg","batches":["b1"]},
		{"externalId":"b.jpg","data":"https://example.com/b.jpg"}]`), client.ImportOptions{Wait: true, CreateBatches: true})
	if err != nil || st.State != "succeeded" {
		t.Fatalf("import %+v, %v", st, err)
	}

	tasks := decodeJSON[[]labelhub.Task](t, h.as(t, "task", "list", "--project", p.ID, "--all", "-o", "json"))
	if len(tasks) != 2 || tasks[0].StageID != "start" {
		t.Fatalf("tasks %+v", tasks)
	}
	inBatch := decodeJSON[[]labelhub.Task](t, h.as(t, "task", "list", "--project", p.ID, "--batch", "b1", "-o", "json"))
	if len(inBatch) != 1 || inBatch[0].Asset.ExternalID != "a.jpg" {
		t.Fatalf("--batch b1: %+v", inBatch)
	}
	id := inBatch[0].ID
	table := h.as(t, "task", "list", "--project", p.ID, "--limit", "1")
	if strings.Count(strings.TrimSpace(table), "\n") != 1 || !strings.Contains(table, "STAGE") {
		t.Fatalf("--limit 1 table:\n%s", table)
	}

	// A hostile answer is refused with its path; nothing changes.
	msg := h.fails(t, "task", "answer", id, "--file", filepath.Join("..", "..", "testdata", "answers", "polygon_two_points.json"))
	if !strings.Contains(msg, "tools[0].polygon") {
		t.Fatalf("invalid answer: %s", msg)
	}
	tk := decodeJSON[labelhub.Task](t, h.as(t, "task", "answer", id, "--file", filepath.Join("..", "..", "testdata", "answers", "valid_full.json"), "-o", "json"))
	if tk.Version != 2 || len(tk.Answer.Tools) != 3 || len(tk.Answer.Relations) != 2 {
		t.Fatalf("after answer: %+v", tk)
	}
	out := h.as(t, "task", "submit", id, "--duration-ms", "4200")
	if !strings.Contains(out, "Label (label)") {
		t.Fatalf("submit output:\n%s", out)
	}
	h.as(t, "task", "submit", id)
	// A stale --version is refused.
	if msg := h.fails(t, "task", "reject", id, "--version", "2"); !strings.Contains(msg, "version") {
		t.Fatalf("stale reject: %s", msg)
	}
	h.as(t, "task", "reject", id)
	h.as(t, "task", "submit", id)
	h.as(t, "task", "submit", id)
	if msg := h.fails(t, "task", "submit", id); !strings.Contains(msg, "last stage (Complete)") {
		t.Fatalf("submit from the last stage: %s", msg)
	}
	tk = decodeJSON[labelhub.Task](t, h.as(t, "task", "show", id, "-o", "json"))
	want := []struct{ action, from, to string }{{"submit", "start", "label"}, {"submit", "label", "review"}, {"reject", "review", "label"},
		{"submit", "label", "review"}, {"submit", "review", "complete"}}
	if tk.StageID != "complete" || len(tk.History) != len(want) {
		t.Fatalf("final task %+v", tk)
	}
	var sum int64
	for i, w := range want {
		e := tk.History[i]
		if e.Action != w.action || e.StageID != w.from || e.ToStageID != w.to || e.Seq != int64(i+1) || len(e.Tools) != 3 || e.CompletedBy == "" {
			t.Errorf("history[%d] = %+v, want %+v", i, e, w)
		}
		sum += e.DurationMs
	}
	if tk.History[0].DurationMs != 4200 || tk.TotalDurationMs != sum {
		t.Errorf("durations: first %d, total %d, sum %d", tk.History[0].DurationMs, tk.TotalDurationMs, sum)
	}
	out = h.as(t, "task", "show", id)
	if !strings.Contains(out, "History:") || tableRow(out, "reject", "Review", "label") == "" || !strings.Contains(out, "Complete (complete)") {
		t.Fatalf("show output:\n%s", out)
	}
	if done := decodeJSON[[]labelhub.Task](t, h.as(t, "task", "list", "--project", p.ID, "--stage", "complete", "-o", "json")); len(done) != 1 || done[0].ID != id {
		t.Fatalf("--stage complete: %+v", done)
	}
}
