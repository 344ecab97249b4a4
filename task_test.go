package labelhub

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustAnswer(t testing.TB, idx SchemaIndex, src string) Answer {
	t.Helper()
	a, err := DecodeAnswer([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if fes := a.Validate(idx, LabelLimits{}, ""); len(fes) > 0 {
		t.Fatalf("invalid: %v", fes)
	}
	return a
}

func TestMergeItemMeta(t *testing.T) {
	idx := labelsIndex(t)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	first := mustAnswer(t, idx, `{"tools": [{"objectId": "c", "schemaId": "car", "bounding-box": {"x": 1, "y": 1, "width": 2, "height": 2},
		"classifications": [{"objectId": "col", "schemaId": "color", "answer": "Blue"}]}],
		"classifications": [{"objectId": "w", "schemaId": "weather", "answer": "Sunny", "createdBy": "forged", "createdAt": "2000-01-01T00:00:00Z"}],
		"relations": []}`)
	MergeItemMeta(Answer{}, &first, "u1", "Label", t0)
	all := []ItemMeta{first.Tools[0].ItemMeta, first.Tools[0].Classifications[0].ItemMeta, first.Classifications[0].ItemMeta}
	for i, m := range all {
		if m != (ItemMeta{CreatedAt: t0, UpdatedAt: t0, CreatedBy: "u1", UpdatedBy: "u1", CreatedIn: "Label", UpdatedIn: "Label"}) {
			t.Errorf("new item %d: %+v", i, m)
		}
	}
	// The nested answer changes, its object does not (nested answers do not
	// count as the object's content); the weather is re-sent with other
	// spacing; a relation is new; an object is new.
	second := mustAnswer(t, idx, `{"tools": [{"objectId": "c", "schemaId": "car", "bounding-box": {"x": 1, "y": 1, "width": 2, "height": 2},
		"classifications": [{"objectId": "col", "schemaId": "color", "answer":   "Red"}]},
		{"objectId": "k", "schemaId": "keypoint", "point": [3, 4]}],
		"classifications": [{"objectId": "w", "schemaId": "weather", "answer":"Sunny", "updatedBy": "forged"}],
		"relations": [{"objectId": "r", "schemaId": "follows", "from": "c", "to": "k"}]}`)
	MergeItemMeta(first, &second, "u2", "Review", t1)
	if m := second.Tools[0].ItemMeta; m != first.Tools[0].ItemMeta {
		t.Errorf("unchanged object: %+v", m)
	}
	if m := second.Tools[0].Classifications[0].ItemMeta; m.CreatedBy != "u1" || m.CreatedAt != t0 || m.UpdatedBy != "u2" || m.UpdatedIn != "Review" || m.UpdatedAt != t1 {
		t.Errorf("changed nested answer: %+v", m)
	}
	if m := second.Classifications[0].ItemMeta; m != first.Classifications[0].ItemMeta {
		t.Errorf("unchanged classification: %+v", m)
	}
	if m := second.Tools[1].ItemMeta; m.CreatedBy != "u2" || m.CreatedIn != "Review" || m.CreatedAt != t1 {
		t.Errorf("new object: %+v", m)
	}
	if m := second.Relations[0].ItemMeta; m.CreatedBy != "u2" {
		t.Errorf("new relation: %+v", m)
	}
	// An objectId reused by another kind of item is a new item.
	third := mustAnswer(t, idx, `{"tools": [{"objectId": "w", "schemaId": "keypoint", "point": [3, 4]}]}`)
	MergeItemMeta(second, &third, "u3", "Review", t1.Add(time.Hour))
	if m := third.Tools[0].ItemMeta; m.CreatedBy != "u3" {
		t.Errorf("object reusing a classification's id: %+v", m)
	}
}

func TestWorkflowValidateAndRoles(t *testing.T) {
	w := DefaultWorkflow()
	if err := w.Validate(); err != nil || len(w.Stages) != len(DefaultStages) {
		t.Fatalf("default workflow: %v", err)
	}
	for i, s := range w.Plain() {
		if s != DefaultStages[i] {
			t.Errorf("stage %d = %+v, want %+v", i, s, DefaultStages[i])
		}
	}
	g := Workflow{Stages: []WorkflowStage{{Name: "In"}, {Name: "Out"}}}
	if err := g.Validate(); err != nil || g.Stages[0].Kind != StageStart || g.Stages[1].Kind != StageDone || g.Stages[0].StageID == "" || g.Stages[0].StageID == g.Stages[1].StageID {
		t.Fatalf("generated: %+v, %v", g, err)
	}
	bad := Workflow{Stages: []WorkflowStage{{Name: "A", StageID: "a"}, {Name: "a"}, {Name: "C", StageID: "a"}}}
	before, _ := json.Marshal(bad)
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "stages[1].name") || !strings.Contains(err.Error(), "stages[2].stageId") {
		t.Fatalf("bad workflow: %v", err)
	}
	if after, _ := json.Marshal(bad); string(after) != string(before) {
		t.Errorf("an invalid workflow was changed: %s", after)
	}
	for _, c := range []struct {
		role Role
		kind StageKind
		want bool
	}{
		{RoleLabeler, StageStart, true}, {RoleLabeler, StageLabel, true}, {RoleLabeler, StageReview, false}, {RoleLabeler, StageDone, false},
		{RoleReviewer, StageReview, true}, {RoleReviewer, StageLabel, true}, {RoleReviewer, StageDone, false},
		{RoleProjectManager, StageReview, true}, {RoleProjectManager, StageDone, true}, {RoleAdmin, StageDone, true},
		{RoleAdmin, StageKind("other"), false},
	} {
		if got := CanWork(c.role, c.kind); got != c.want {
			t.Errorf("CanWork(%s, %s) = %v", c.role, c.kind, got)
		}
	}
}

// FuzzMergeItemMeta feeds answers from the label corpus, decoded and
// validated as PUT /tasks/{id}/answer does (FuzzValidateAnswer covers the
// decoding and validation themselves), through MergeItemMeta: merging an
// answer onto itself keeps every item's metadata, every item of a merged
// answer is stamped, and the merged answer survives its own JSON.
func FuzzMergeItemMeta(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "answers", "*.json"))
	more, _ := filepath.Glob(filepath.Join(labelsCorpusDir, "*_answer_*.json"))
	for _, file := range append(files, more...) {
		if src, err := os.ReadFile(file); err == nil && len(src) < 8<<10 {
			f.Add(src)
		}
	}
	f.Add([]byte(formatsTask))
	idx := labelsIndex(f)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, src []byte) {
		a, err := DecodeAnswer(src)
		if err != nil {
			return
		}
		if fes := a.Validate(idx, LabelLimits{MaxPoints: 256, MaxObjects: 64, MaxRelations: 64}, ""); len(fes) > 0 {
			return
		}
		MergeItemMeta(Answer{}, &a, "u1", "Label", t0)
		check := func(m ItemMeta, what string) {
			if m.CreatedBy == "" || m.UpdatedBy == "" || m.CreatedAt.IsZero() || m.UpdatedAt.IsZero() || m.CreatedIn == "" {
				t.Fatalf("%s not stamped: %+v", what, m)
			}
		}
		var walk func(list []ClassificationAnswer)
		walk = func(list []ClassificationAnswer) {
			for _, c := range list {
				check(c.ItemMeta, "classification "+c.ObjectID)
				walk(c.Classifications)
			}
		}
		for _, o := range a.Tools {
			check(o.ItemMeta, "object "+o.ObjectID)
			walk(o.Classifications)
		}
		walk(a.Classifications)
		for _, r := range a.Relations {
			check(r.ItemMeta, "relation "+r.ObjectID)
		}
		stored, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := DecodeAnswer(stored)
		if err != nil {
			t.Fatalf("the stored answer does not decode: %v\n%s", err, stored)
		}
		if fes := b.Validate(idx, LabelLimits{MaxPoints: 256, MaxObjects: 64, MaxRelations: 64}, ""); len(fes) > 0 {
			t.Fatalf("the stored answer is invalid: %v", fes)
		}
		MergeItemMeta(a, &b, "u2", "Review", t0.Add(time.Hour))
		if again, _ := json.Marshal(b); string(again) != string(stored) {
			t.Fatalf("merging an answer onto itself changed it:\n%s\n%s", stored, again)
		}
	})
}
