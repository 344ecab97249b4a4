package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labelhub/labelhub"
)

// MaxAnswerBytes bounds the body of PUT /tasks/{taskId}/answer (answers
// with many points are bigger than other JSON bodies), unless the
// configured body limit is higher.
const MaxAnswerBytes = 16 << 20

func (s *Server) routesTasks() {
	s.handle("GET", "/api/v1/projects/{projectId}/workflow", s.getWorkflow)
	s.handle("PUT", "/api/v1/projects/{projectId}/workflow", s.putWorkflow)
	s.handle("GET", "/api/v1/projects/{projectId}/tasks", s.listTasks)
	s.handle("GET", "/api/v1/tasks/{taskId}", s.getTask)
	s.handle("PUT", "/api/v1/tasks/{taskId}/answer", s.putAnswer)
	s.handle("POST", "/api/v1/tasks/{taskId}/submit", s.submitTask)
	s.handle("POST", "/api/v1/tasks/{taskId}/reject", s.rejectTask)
}

func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, err := s.projectFor(r, a)
	if err != nil {
		return err
	}
	wf, err := s.cfg.Store.ProjectWorkflow(r.Context(), a.Org.ID, p.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wf)
	return nil
}

func (s *Server) putWorkflow(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, err := s.projectFor(r, a)
	if err != nil {
		return err
	}
	if err := require(a, labelhub.PermManageProjects, "edit workflows"); err != nil {
		return err
	}
	var in labelhub.Workflow
	if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	wf, err := s.cfg.Store.SetWorkflow(r.Context(), a.Org.ID, p.ID, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wf)
	return nil
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, err := s.projectFor(r, a)
	if err != nil {
		return err
	}
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := labelhub.TaskFilter{StageID: q.Get("stage"), UpdatedBy: q.Get("updatedBy")}
	var probs labelhub.Problems
	for _, tf := range []struct {
		name string
		to   *time.Time
	}{{"updatedAfter", &f.UpdatedAfter}, {"updatedBefore", &f.UpdatedBefore}} {
		if v := q.Get(tf.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				probs.Add(tf.name, "must be an RFC 3339 time such as 2026-11-22T12:00:00Z")
				continue
			}
			*tf.to = t
		}
	}
	if f.StageID != "" {
		wf, err := s.cfg.Store.ProjectWorkflow(r.Context(), a.Org.ID, p.ID)
		if err != nil {
			return err
		}
		if wf.Index(f.StageID) < 0 {
			ids := make([]string, len(wf.Stages))
			for i, st := range wf.Stages {
				ids[i] = st.StageID
			}
			probs.Add("stage", "names no stage of this project's workflow; its stageIds are %s", strings.Join(ids, ", "))
		}
	}
	if err := probs.Err("invalid filter"); err != nil {
		return err
	}
	if b := q.Get("batch"); b != "" {
		found, err := s.cfg.Store.ResolveBatches(r.Context(), a.Org.ID, p.ID, []string{b})
		if err != nil {
			return err
		}
		if f.BatchID = found[b]; f.BatchID == "" {
			return labelhub.Invalid("invalid filter", labelhub.FieldError{Path: "batch", Message: "names no batch (by id or name) of this project"})
		}
	}
	limit := pr.Limit
	if limit == 0 {
		limit = labelhub.DefaultPageLimit
	}
	if f.After, err = labelhub.DecodeCursor(pr.Cursor); err != nil {
		return err
	}
	f.Limit = limit + 1
	items, err := s.cfg.Store.ListTasks(r.Context(), a.Org.ID, p.ID, f)
	if err != nil {
		return err
	}
	page := labelhub.Page[labelhub.Task]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = labelhub.EncodeCursor(items[limit-1].ID)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) taskOf(r *http.Request, a labelhub.Actor) (labelhub.Task, error) {
	id, err := pathID(r, "taskId", "task")
	if err != nil {
		return labelhub.Task{}, err
	}
	return s.cfg.Store.GetTask(r.Context(), a.Org.ID, id)
}

// etag is the entity tag of a task version.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

func writeTask(w http.ResponseWriter, t labelhub.Task) {
	w.Header().Set("ETag", etag(t.Version))
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	t, err := s.taskOf(r, a)
	if err != nil {
		return err
	}
	writeTask(w, t)
	return nil
}

// ifMatch reads the If-Match header: a task version, bare ("7") or as
// the ETag ("\"7\"", also weak). 0 when it is absent.
func ifMatch(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		return 0, nil
	}
	v = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, labelhub.Invalid("invalid If-Match header", labelhub.FieldError{Path: "If-Match",
			Message: "must be the task's version or its ETag (from GET /api/v1/tasks/{taskId})"})
	}
	return n, nil
}

func (s *Server) putAnswer(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	t, err := s.taskOf(r, a)
	if err != nil {
		return err
	}
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	if version == 0 {
		writeJSON(w, http.StatusPreconditionRequired, map[string]*labelhub.Error{"error": {Code: labelhub.ECodeInvalid,
			Message: "the If-Match header is required: send the task's version or ETag from GET /api/v1/tasks/" + t.ID,
			Details: []labelhub.FieldError{{Path: "If-Match", Message: "is required"}}}})
		return nil
	}
	if !labelhub.CanWork(a.User.Role, t.StageKind) {
		return labelhub.Errorf(labelhub.ECodeForbidden, "your role (%s) may not work on tasks in the %s stage %s", a.User.Role, t.StageKind, t.StageName)
	}
	body, err := readBody(w, r, max(s.cfg.MaxBodyBytes, MaxAnswerBytes))
	if err != nil {
		return err
	}
	ans, err := decodeAnswer(body)
	if err != nil {
		return err
	}
	p, err := s.cfg.Store.GetProject(r.Context(), a.Org.ID, t.ProjectID)
	if err != nil {
		return err
	}
	if fes := ans.Validate(p.CategorySchema.Index(), labelhub.LabelLimits{Pages: t.Asset.Pages}, ""); len(fes) > 0 {
		return labelhub.Invalid("invalid answer", fes...)
	}
	t, err = s.cfg.Store.PutAnswer(r.Context(), a.Org.ID, t.ID, a.User, version, ans)
	if err != nil {
		return err
	}
	writeTask(w, t)
	return nil
}

// decodeAnswer decodes an answer body as a label import entry is decoded
// (labelhub.DecodeAnswer), refusing invalid UTF-8 first: encoding/json
// would replace it silently, changing objectIds and texts.
func decodeAnswer(body []byte) (labelhub.Answer, error) {
	if !utf8.Valid(body) {
		return labelhub.Answer{}, labelhub.Invalid("invalid answer JSON", labelhub.FieldError{Path: "", Message: "is not valid UTF-8"})
	}
	return labelhub.DecodeAnswer(body)
}

// readBody reads a whole body of at most max bytes.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, labelhub.Errorf(labelhub.ECodeTooLarge, "the body is larger than %d bytes", max)
	}
	return body, err
}

func (s *Server) submitTask(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	return s.moveTask(w, r, a, labelhub.TaskSubmit)
}

func (s *Server) rejectTask(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	return s.moveTask(w, r, a, labelhub.TaskReject)
}

// moveTask submits or rejects a task. The body is optional:
// {"durationMs": N} sets the time spent in the stage.
func (s *Server) moveTask(w http.ResponseWriter, r *http.Request, a labelhub.Actor, action string) error {
	t, err := s.taskOf(r, a)
	if err != nil {
		return err
	}
	m := labelhub.TaskMove{Action: action}
	if m.IfMatch, err = ifMatch(r); err != nil {
		return err
	}
	if !labelhub.CanWork(a.User.Role, t.StageKind) {
		return labelhub.Errorf(labelhub.ECodeForbidden, "your role (%s) may not %s tasks in the %s stage %s", a.User.Role, action, t.StageKind, t.StageName)
	}
	body, err := readBody(w, r, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var in struct {
			DurationMs *int64 `json:"durationMs"`
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
			return err
		}
		if in.DurationMs != nil && (*in.DurationMs < 0 || *in.DurationMs > labelhub.MaxTaskDurationMs) {
			return labelhub.Invalid("invalid "+action, labelhub.FieldError{Path: "durationMs",
				Message: fmt.Sprintf("must be a whole number of milliseconds from 0 to %d", int64(labelhub.MaxTaskDurationMs))})
		}
		m.DurationMs = in.DurationMs
	}
	t, err = s.cfg.Store.MoveTask(r.Context(), a.Org.ID, t.ID, a.User, m)
	if err != nil {
		return err
	}
	writeTask(w, t)
	return nil
}
