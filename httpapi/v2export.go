package httpapi

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
)

// export answers GET /v2/export and GET /v2/exportV3 (the SDK's export
// and exportV3): it checks the query and answers
// {"data": {"exportPath": URL}}, a signed URL of this hub that serves the
// export with those filters as a zip (fetchExport). Query:
//
//   - project (required), format or exportFormat: json (default) or ndjson;
//   - stage: a JSON list of one stage id or name (["Complete"]), a JSON
//     string, or plain text; an empty list is every stage;
//   - batches: a JSON list of batch ids or names (or one as plain text);
//   - updatedAt: a JSON object {"$gt": time, "$lt": time};
//   - includeHistory, includeMetadata: true or false (defaults as on
//     /api/v1: history yes, metadata no);
//   - type: task (issue exports do not exist in labelhub); taskTypes: a
//     JSON list of which only "default" is known; createdAt is refused
//     (exports filter on updatedAt only);
//   - anything else (sendEmail, doNotNotify, includeOnlyKeyFrames, …) is
//     accepted and has no effect.
func (v *v2) export(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	q := r.URL.Query()
	p, err := v.inProject(r.Context(), a, "project", q.Get("project"))
	if err != nil {
		return err
	}
	if _, ok := v.s.cfg.Store.(exportStore); !ok {
		return labelhub.Errorf(labelhub.ECodeUnavailable, "this store cannot export")
	}
	c := urlClaims{Kind: urlExport, Org: a.Org.ID, Project: p.ID, Format: labelhub.ExportJSON, History: true}
	if a.Scope != nil {
		c.Run = a.Scope.RunID
	}
	if err := v.exportQuery(r, q, p, &c); err != nil {
		return err
	}
	base, err := v2Base(r)
	if err != nil {
		return err
	}
	c.Exp = v.signer.now().Add(v2ExportURLTTL).Unix()
	writeV2(w, http.StatusOK, map[string]string{"exportPath": base + "/v2/exports/" + v.signer.sign(c)})
	return nil
}

// jsonList reads a parameter the SDK sends as a JSON list (or a JSON
// string, or, from hand-written URLs, plain text) as a list.
func jsonList(v string) ([]string, bool) {
	t := strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(t, "["):
		var l []string
		if json.Unmarshal([]byte(t), &l) != nil {
			return nil, false
		}
		return l, true
	case strings.HasPrefix(t, `"`):
		var s string
		if json.Unmarshal([]byte(t), &s) != nil {
			return nil, false
		}
		return []string{s}, true
	case t == "":
		return nil, true
	}
	return []string{t}, true
}

// exportQuery fills the export's filters and options into c, resolving
// the stage and the batches against the project.
func (v *v2) exportQuery(r *http.Request, q url.Values, p labelhub.Project, c *urlClaims) error {
	ctx := r.Context()
	var probs labelhub.Problems
	format := q.Get("format")
	if format == "" {
		format = q.Get("exportFormat")
	}
	switch strings.ToLower(format) {
	case "", labelhub.ExportJSON:
	case labelhub.ExportNDJSON:
		c.Format = labelhub.ExportNDJSON
	default:
		probs.Add("format", "must be json or ndjson, not %q", format)
	}
	for _, bf := range []struct {
		name string
		to   *bool
	}{{"includeHistory", &c.History}, {"includeMetadata", &c.Meta}} {
		switch strings.ToLower(q.Get(bf.name)) {
		case "":
		case "true":
			*bf.to = true
		case "false":
			*bf.to = false
		default:
			probs.Add(bf.name, "must be true or false, not %q", q.Get(bf.name))
		}
	}
	switch t := q.Get("type"); t {
	case "", "task", "None":
	default:
		probs.Add("type", "labelhub exports tasks only (type task), not %q", t)
	}
	if t := q.Get("taskTypes"); t != "" {
		l, ok := jsonList(t)
		for _, x := range l {
			ok = ok && x == "default"
		}
		if !ok {
			probs.Add("taskTypes", `labelhub has one kind of task: leave it out or send ["default"], not %s`, t)
		}
	}
	if t := strings.TrimSpace(q.Get("createdAt")); t != "" && t != "{}" {
		probs.Add("createdAt", "labelhub filters exports by updatedAt only; leave createdAt out")
	}
	if t := strings.TrimSpace(q.Get("updatedAt")); t != "" {
		var rng map[string]string
		if err := json.Unmarshal([]byte(t), &rng); err != nil {
			probs.Add("updatedAt", `must be a JSON object {"$gt": time, "$lt": time} with RFC 3339 times`)
		}
		for k, s := range rng {
			tm, err := time.Parse(time.RFC3339Nano, s)
			switch {
			case k != "$gt" && k != "$lt":
				probs.Add("updatedAt."+k, `is not a bound: use "$gt" (after) and "$lt" (before)`)
			case err != nil:
				probs.Add("updatedAt."+k, "must be an RFC 3339 time such as 2026-11-22T12:00:00.000000Z, not %q", s)
			case k == "$gt":
				c.After = tm.UTC().Format(time.RFC3339Nano)
			default:
				c.Before = tm.UTC().Format(time.RFC3339Nano)
			}
		}
	}
	stages, ok := jsonList(q.Get("stage"))
	if !ok {
		probs.Add("stage", `must be a JSON list of stage ids or names, such as ["Complete"]`)
	}
	batches, ok := jsonList(q.Get("batches"))
	switch {
	case !ok:
		probs.Add("batches", `must be a JSON list of batch ids or names, such as ["week-1"]`)
	case len(batches) > maxURLBatches:
		probs.Add("batches", "at most %d batches", maxURLBatches)
	}
	if err := probs.Err("invalid export request"); err != nil {
		return err
	}
	if len(stages) > 0 {
		wf, err := v.s.cfg.Store.ProjectWorkflow(ctx, p.OrgID, p.ID)
		if err != nil {
			return err
		}
		names := make([]string, len(wf.Stages))
		for i, st := range wf.Stages {
			names[i] = st.Name
		}
		for i, ref := range stages {
			id := ""
			for _, st := range wf.Stages {
				if st.StageID == ref {
					id = st.StageID
				}
			}
			for _, st := range wf.Stages {
				if id == "" && strings.EqualFold(st.Name, ref) {
					id = st.StageID
				}
			}
			switch {
			case id == "":
				probs.Add(fmt.Sprintf("stage[%d]", i), "%q names no stage (by id or name) of this project's workflow; its stages are %s", ref, strings.Join(names, ", "))
			case c.Stage != "" && c.Stage != id:
				probs.Add("stage", "labelhub exports one stage at a time; ask for one stage per export, or none for all")
			default:
				c.Stage = id
			}
		}
	}
	if len(batches) > 0 {
		found, err := v.s.cfg.Store.ResolveBatches(ctx, p.OrgID, p.ID, batches)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for i, b := range batches {
			id := found[b]
			switch {
			case id == "":
				probs.Add(fmt.Sprintf("batches[%d]", i), "%q names no batch (by id or name) of this project", b)
			case !seen[id]:
				seen[id] = true
				c.Batches = append(c.Batches, id)
			}
		}
	}
	return probs.Err("invalid export request")
}

// fetchExport answers GET /v2/exports/{token}: the export the token
// describes, streamed as a zip whose one entry, export-<projectId>.ndjson
// (or .json), holds exactly what GET /api/v1/projects/{projectId}/export
// answers with the same filters. The token is checked, and the project
// read, before the first byte; an export asked for with a run token also
// needs that run not to have ended. A failure midway cuts the connection,
// so the zip is left without its central directory, never a shorter
// valid one.
func (v *v2) fetchExport(w http.ResponseWriter, r *http.Request) error {
	c, err := v.signer.parse(urlExport, r.PathValue("token"))
	if err != nil {
		return err
	}
	ctx := r.Context()
	p, err := v.s.cfg.Store.GetProject(ctx, c.Org, c.Project)
	if err != nil {
		return err
	}
	if c.Run != "" {
		_, st, err := v.s.plugins()
		if err != nil {
			return err
		}
		run, err := st.GetRun(ctx, c.Org, c.Run)
		if err != nil {
			return err
		}
		if run.State.Final() {
			return labelhub.Errorf(labelhub.ECodeForbidden, "this link was made for run %s, which has ended (%s); run the plugin again", run.ID, run.State)
		}
	}
	st, ok := v.s.cfg.Store.(exportStore)
	if !ok {
		return labelhub.Errorf(labelhub.ECodeUnavailable, "this store cannot export")
	}
	f, o := c.exportFilter()
	ext := "json"
	if o.Format == labelhub.ExportNDJSON {
		ext = "ndjson"
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="export-`+p.ID+`.zip"`)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	zw := zip.NewWriter(w)
	entry, err := zw.CreateHeader(&zip.FileHeader{Name: "export-" + p.ID + "." + ext, Method: zip.Deflate, Modified: time.Now()})
	if err == nil {
		err = v.s.writeExport(ctx, st, c.Org, p.ID, f, o, entry, func() error {
			if err := zw.Flush(); err != nil {
				return err
			}
			return rc.Flush()
		}, nil)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			v.s.cfg.Logger.Info("export ended: the client went away", "project", p.ID, "err", err)
			return nil
		}
		v.s.cfg.Logger.Error("export failed mid-stream", "project", p.ID, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}
