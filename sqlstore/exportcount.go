package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
)

// maxExportRunBatches bounds params.batches, like the export's batch=.
const maxExportRunBatches = 100

// ExportRunParams checks the export fields of the params of a new run of
// an export plugin in a project and returns the params to store: stage
// (a stage id or name of the project's workflow) and batches (ids or
// names of the project's batches) resolved to ids, updatedAfter and
// updatedBefore RFC 3339 times, includeHistory and includeMetadata
// booleans, and numTasks set to the number of tasks the export holds now
// (the count of the export with the same filters; a numTasks in params is
// replaced). Other fields are kept as they are. Every problem names its
// field as params.<name>.
func (s *Store) ExportRunParams(ctx context.Context, orgID, projectID string, params json.RawMessage) (json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	if len(params) > 0 && string(params) != "null" {
		if err := json.Unmarshal(params, &obj); err != nil {
			return nil, labelhub.Invalid("invalid run", labelhub.FieldError{Path: "params", Message: "must be a JSON object"})
		}
	}
	var p labelhub.Problems
	var f labelhub.ExportFilter
	str := func(name string) (string, bool) {
		raw, ok := obj[name]
		if !ok || string(raw) == "null" {
			return "", false
		}
		var v string
		if json.Unmarshal(raw, &v) != nil {
			p.Add("params."+name, "must be a string")
			return "", false
		}
		return v, v != ""
	}
	stage, hasStage := str("stage")
	for _, tf := range []struct {
		name string
		to   *time.Time
	}{{"updatedAfter", &f.UpdatedAfter}, {"updatedBefore", &f.UpdatedBefore}} {
		if v, ok := str(tf.name); ok {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				p.Add("params."+tf.name, "must be an RFC 3339 time such as 2026-11-22T12:00:00Z")
				continue
			}
			*tf.to = t
		}
	}
	if !f.UpdatedAfter.IsZero() && !f.UpdatedBefore.IsZero() && !f.UpdatedAfter.Before(f.UpdatedBefore) {
		p.Add("params.updatedBefore", "must be later than params.updatedAfter")
	}
	for _, name := range []string{"includeHistory", "includeMetadata"} {
		if raw, ok := obj[name]; ok && string(raw) != "null" {
			var b bool
			if json.Unmarshal(raw, &b) != nil {
				p.Add("params."+name, "must be true or false")
			}
		}
	}
	var batches []string
	if raw, ok := obj["batches"]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, &batches) != nil {
			p.Add("params.batches", "must be a list of batch ids or names")
			batches = nil
		} else if len(batches) > maxExportRunBatches {
			p.Add("params.batches", "at most %d batches", maxExportRunBatches)
			batches = nil
		}
		for i, b := range batches {
			if b == "" {
				p.Add(fmt.Sprintf("params.batches[%d]", i), "is empty; give a batch id or name")
			}
		}
	}
	if err := p.Err("invalid run"); err != nil {
		return nil, err
	}
	if hasStage {
		wf, err := s.ProjectWorkflow(ctx, orgID, projectID)
		if err != nil {
			return nil, err
		}
		for _, st := range wf.Stages {
			if st.StageID == stage {
				f.StageID = st.StageID
				break
			}
		}
		if f.StageID == "" {
			var names []string
			for _, st := range wf.Stages {
				names = append(names, st.Name)
				if st.Name == stage && f.StageID == "" {
					f.StageID = st.StageID
				}
			}
			if f.StageID == "" {
				p.Add("params.stage", "%q names no stage (by id or name) of this project's workflow; its stages are %s", stage, strings.Join(names, ", "))
			}
		}
	}
	if len(batches) > 0 {
		found, err := s.ResolveBatches(ctx, orgID, projectID, batches)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for i, b := range batches {
			id := found[b]
			switch {
			case id == "":
				p.Add(fmt.Sprintf("params.batches[%d]", i), "%q names no batch (by id or name) of this project", b)
			case !seen[id]:
				seen[id] = true
				f.BatchIDs = append(f.BatchIDs, id)
			}
		}
	}
	if err := p.Err("invalid run"); err != nil {
		return nil, err
	}
	n, err := s.CountExport(ctx, orgID, projectID, f)
	if err != nil {
		return nil, err
	}
	set := func(name string, v any) {
		b, _ := json.Marshal(v)
		obj[name] = b
	}
	if hasStage {
		set("stage", f.StageID)
	}
	if obj["batches"] != nil && string(obj["batches"]) != "null" {
		set("batches", append([]string{}, f.BatchIDs...))
	}
	set("numTasks", n)
	return json.Marshal(obj)
}
