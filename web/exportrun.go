package web

// The export filters of the run dialog: running an Export plugin offers
// the batches, the stage, the updatedAt bounds and the history and
// metadata switches, sent as the run's params (the names the SDK's
// plugin.ExportParams reads). The hub checks them; its errors (such as
// params.stage) show next to the filters.

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
)

// exportFilters is the filter part of the run form as typed.
type exportFilters struct {
	Batches                         []string // batch ids
	Stage                           string   // a stage id, "" for every stage
	UpdatedAfter, UpdatedBefore     string   // datetime-local values, UTC
	IncludeHistory, IncludeMetadata bool
}

// Batch reports whether the batch id is picked.
func (f exportFilters) Batch(id string) bool {
	for _, b := range f.Batches {
		if b == id {
			return true
		}
	}
	return false
}

// defaultExportFilters are the filters of a fresh dialog: everything, with
// the stage history (the hub's default).
func defaultExportFilters() exportFilters { return exportFilters{IncludeHistory: true} }

// exportChoices are what the filters offer: the project's stages and batches.
type exportChoices struct {
	Stages  []labelhub.Stage
	Batches []labelhub.Batch
}

// exportChoicesOf reads the stages and batches of project p (at most
// MaxPageLimit batches, as the export page).
func (s *server) exportChoicesOf(ctx context.Context, c *reqCtx, p labelhub.Project) (*exportChoices, error) {
	ch := &exportChoices{}
	if ts, err := s.tasks(); err == nil {
		if ch.Stages, err = ts.Workflow(ctx, c.actor.Org.ID, p.ID); err != nil {
			return nil, err
		}
	}
	batches, err := s.cfg.Store.ListBatches(ctx, c.actor.Org.ID, p.ID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit})
	if err != nil {
		return nil, err
	}
	ch.Batches = batches.Items
	return ch, nil
}

// readExportFilters reads the filters from a posted run form.
func readExportFilters(pf url.Values) exportFilters {
	f := exportFilters{Stage: strings.TrimSpace(pf.Get("stage")),
		UpdatedAfter: strings.TrimSpace(pf.Get("updatedAfter")), UpdatedBefore: strings.TrimSpace(pf.Get("updatedBefore")),
		IncludeHistory: pf.Get("includeHistory") != "", IncludeMetadata: pf.Get("includeMetadata") != ""}
	for _, b := range pf["batches"] {
		if b = strings.TrimSpace(b); b != "" {
			f.Batches = append(f.Batches, b)
		}
	}
	return f
}

// datetimeLayouts are the values a datetime-local input sends.
var datetimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02T15:04:05.999"}

// params builds the run's params; a time that does not parse is an error
// on its params field, like the hub's own.
func (f exportFilters) params() (json.RawMessage, error) {
	out := map[string]any{"includeHistory": f.IncludeHistory, "includeMetadata": f.IncludeMetadata}
	if len(f.Batches) > 0 {
		out["batches"] = f.Batches
	}
	if f.Stage != "" {
		out["stage"] = f.Stage
	}
	var p labelhub.Problems
	for _, tf := range []struct{ name, value string }{{"updatedAfter", f.UpdatedAfter}, {"updatedBefore", f.UpdatedBefore}} {
		if tf.value == "" {
			continue
		}
		var t time.Time
		var err error
		for _, layout := range datetimeLayouts {
			if t, err = time.Parse(layout, tf.value); err == nil {
				break
			}
		}
		if err != nil {
			p.Add("params."+tf.name, "must be a date and time such as 2026-11-22T12:00 (UTC)")
			continue
		}
		out[tf.name] = t.UTC().Format(time.RFC3339Nano)
	}
	if err := p.Err("The export filters are not valid; nothing was sent."); err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// paramsErr reports whether every detail of a form error is about the
// run's params: such errors show next to the filters.
func paramsErr(fe *formErr) bool {
	if fe == nil || len(fe.Details) == 0 {
		return false
	}
	for _, d := range fe.Details {
		if d.Path != "params" && !strings.HasPrefix(d.Path, "params.") && !strings.HasPrefix(d.Path, "params[") {
			return false
		}
	}
	return true
}

// exportFiltersView is what the run dialog's export-filters template gets.
type exportFiltersView struct {
	Choices *exportChoices
	Form    exportFilters
	Err     *formErr
}

// ExportFilters is the filters part of the run dialog; nil for plugins
// other than Export plugins.
func (v runDialogView) ExportFilters() *exportFiltersView {
	if v.Export == nil {
		return nil
	}
	return &exportFiltersView{Choices: v.Export, Form: v.Form.Filters, Err: v.Form.FiltersErr}
}
