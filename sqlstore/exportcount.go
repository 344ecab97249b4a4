package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
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
	obj, f, err := s.exportRunFilter(ctx, orgID, projectID, params)
	if err != nil {
		return nil, err
	}
	n, err := s.CountExport(ctx, orgID, projectID, f)
	if err != nil {
		return nil, err
	}
	obj["numTasks"], _ = json.Marshal(n)
	return json.Marshal(obj)
}

// ExportRunFilter is ExportRunParams without the count: it returns the
// params to store without numTasks, and the filter whose count
// CreateExportRun sets as numTasks in the statement that inserts the run
// (pluginhub: the count costs no query of its own).
func (s *Store) ExportRunFilter(ctx context.Context, orgID, projectID string, params json.RawMessage) (json.RawMessage, labelhub.ExportFilter, error) {
	obj, f, err := s.exportRunFilter(ctx, orgID, projectID, params)
	if err != nil {
		return nil, f, err
	}
	delete(obj, "numTasks")
	out, err := json.Marshal(obj)
	return out, f, err
}

// exportRunFilter checks params as ExportRunParams does and returns them
// with stage and batches resolved, and the export's filter.
func (s *Store) exportRunFilter(ctx context.Context, orgID, projectID string, params json.RawMessage) (map[string]json.RawMessage, labelhub.ExportFilter, error) {
	obj := map[string]json.RawMessage{}
	var f labelhub.ExportFilter
	if len(params) > 0 && string(params) != "null" {
		if err := json.Unmarshal(params, &obj); err != nil {
			return nil, f, labelhub.Invalid("invalid run", labelhub.FieldError{Path: "params", Message: "must be a JSON object"})
		}
	}
	var p labelhub.Problems
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
		return nil, f, err
	}
	if hasStage {
		wf, err := s.ProjectWorkflow(ctx, orgID, projectID)
		if err != nil {
			return nil, f, err
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
			return nil, f, err
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
		return nil, f, err
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
	return obj, f, nil
}

// exportRunCount is the numTasks of a run that createPluginRun counts in
// its INSERT: the params are prefix, the count, suffix (the keys in
// json.Marshal's order, as ExportRunParams writes them), and where and
// args are the export's WHERE clause (exportWhere) and its arguments.
type exportRunCount struct {
	prefix, suffix string
	where          string
	args           []any
}

// newExportRunCount splits params (a JSON object, as ExportRunFilter
// returns) around numTasks.
func newExportRunCount(orgID, projectID string, params json.RawMessage, f labelhub.ExportFilter) (*exportRunCount, error) {
	obj := map[string]json.RawMessage{}
	if len(params) > 0 && string(params) != "null" {
		if err := json.Unmarshal(params, &obj); err != nil {
			return nil, labelhub.Invalid("invalid run", labelhub.FieldError{Path: "params", Message: "must be a JSON object"})
		}
	}
	before, after := map[string]json.RawMessage{}, map[string]json.RawMessage{}
	for k, v := range obj {
		switch {
		case k < "numTasks":
			before[k] = v
		case k > "numTasks":
			after[k] = v
		}
	}
	b, err := json.Marshal(before)
	if err != nil {
		return nil, err
	}
	a, err := json.Marshal(after)
	if err != nil {
		return nil, err
	}
	c := &exportRunCount{prefix: string(b[:len(b)-1]), suffix: "}"}
	if len(before) > 0 {
		c.prefix += ","
	}
	c.prefix += `"numTasks":`
	if len(after) > 0 {
		c.suffix = "," + string(a[1:])
	}
	c.where, c.args = exportWhere(orgID, projectID, f)
	return c, nil
}

// expr is the SQL of the params with the count, whose prefix is $4 (as
// in createRunRow) and whose other arguments are numbered from $first,
// and those other arguments.
func (c *exportRunCount) expr(first int) (string, []any) {
	// exportWhere numbers its arguments from $1; here they follow the
	// suffix.
	var sb strings.Builder
	w := c.where
	for {
		i := strings.IndexByte(w, '$')
		if i < 0 {
			sb.WriteString(w)
			break
		}
		j := i + 1
		for j < len(w) && w[j] >= '0' && w[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(w[i+1 : j])
		sb.WriteString(w[:i])
		sb.WriteString("$" + strconv.Itoa(n+first))
		w = w[j:]
	}
	q := "$4 || CAST((SELECT COUNT(*) FROM tasks t " + sb.String() + ") AS TEXT) || $" + strconv.Itoa(first)
	return q, append([]any{c.suffix}, c.args...)
}
