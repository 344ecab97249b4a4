package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
)

// TaskQuery filters a project's task list; zero fields do not filter.
type TaskQuery struct {
	Stage         string // a stageId of the workflow
	Batch         string // a batch id or name
	UpdatedBy     string // user id of the last change
	UpdatedAfter  time.Time
	UpdatedBefore time.Time
}

func (q TaskQuery) values() url.Values {
	v := url.Values{}
	if q.Stage != "" {
		v.Set("stage", q.Stage)
	}
	if q.Batch != "" {
		v.Set("batch", q.Batch)
	}
	if q.UpdatedBy != "" {
		v.Set("updatedBy", q.UpdatedBy)
	}
	if !q.UpdatedAfter.IsZero() {
		v.Set("updatedAfter", q.UpdatedAfter.Format(time.RFC3339Nano))
	}
	if !q.UpdatedBefore.IsZero() {
		v.Set("updatedBefore", q.UpdatedBefore.Format(time.RFC3339Nano))
	}
	return v
}

// MoveOptions are the options of SubmitTask and RejectTask.
type MoveOptions struct {
	// Version, when > 0, is sent as If-Match: the move fails with a
	// conflict if the task changed meanwhile.
	Version int64
	// DurationMs, when not nil, is the time spent in the stage; else the
	// hub counts from when the task entered it.
	DurationMs *int64
}

// GetWorkflow returns a project's workflow.
func (c *Client) GetWorkflow(ctx context.Context, projectID string) (labelhub.Workflow, error) {
	var out labelhub.Workflow
	err := c.do(ctx, http.MethodGet, "/api/v1/projects/"+url.PathEscape(projectID)+"/workflow", nil, nil, &out)
	return out, err
}

// SetWorkflow replaces a project's workflow (admins and project managers;
// only while every task is in the first stage) and returns it as stored.
func (c *Client) SetWorkflow(ctx context.Context, projectID string, w labelhub.Workflow) (labelhub.Workflow, error) {
	var out labelhub.Workflow
	err := c.do(ctx, http.MethodPut, "/api/v1/projects/"+url.PathEscape(projectID)+"/workflow", nil, w, &out)
	return out, err
}

// ListTasks returns one page of a project's tasks (without their
// history). To walk them all, wrap it for All.
func (c *Client) ListTasks(ctx context.Context, projectID string, q TaskQuery, p labelhub.PageRequest) (labelhub.Page[labelhub.Task], error) {
	return list[labelhub.Task](ctx, c, "/api/v1/projects/"+url.PathEscape(projectID)+"/tasks", p, q.values())
}

// GetTask returns a task with its asset summary and full history.
func (c *Client) GetTask(ctx context.Context, id string) (labelhub.Task, error) {
	var out labelhub.Task
	_, err := c.doHeader(ctx, http.MethodGet, "/api/v1/tasks/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// PutAnswer replaces the answer of a task that is at version (from
// GetTask); a task changed meanwhile is a conflict whose detail at
// "If-Match" names the current version.
func (c *Client) PutAnswer(ctx context.Context, id string, version int64, a labelhub.Answer) (labelhub.Task, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return labelhub.Task{}, fmt.Errorf("labelhub client: encode the answer: %w", err)
	}
	return c.PutAnswerJSON(ctx, id, version, b)
}

// PutAnswerJSON is PutAnswer with the answer as JSON text, sent as it is
// (the hub validates it and names the path of any problem).
func (c *Client) PutAnswerJSON(ctx context.Context, id string, version int64, answer []byte) (labelhub.Task, error) {
	var out labelhub.Task
	h := http.Header{"If-Match": {strconv.Quote(strconv.FormatInt(version, 10))}}
	_, err := c.doHeader(ctx, http.MethodPut, "/api/v1/tasks/"+url.PathEscape(id)+"/answer", h, answer, &out)
	return out, err
}

// SubmitTask moves a task to the next stage of its workflow.
func (c *Client) SubmitTask(ctx context.Context, id string, o MoveOptions) (labelhub.Task, error) {
	return c.moveTask(ctx, id, "submit", o)
}

// RejectTask sends a task in a review stage back to the previous stage.
func (c *Client) RejectTask(ctx context.Context, id string, o MoveOptions) (labelhub.Task, error) {
	return c.moveTask(ctx, id, "reject", o)
}

func (c *Client) moveTask(ctx context.Context, id, action string, o MoveOptions) (labelhub.Task, error) {
	h := http.Header{}
	if o.Version > 0 {
		h.Set("If-Match", strconv.Quote(strconv.FormatInt(o.Version, 10)))
	}
	var body []byte
	if o.DurationMs != nil {
		body, _ = json.Marshal(map[string]int64{"durationMs": *o.DurationMs})
	}
	var out labelhub.Task
	_, err := c.doHeader(ctx, http.MethodPost, "/api/v1/tasks/"+url.PathEscape(id)+"/"+action, h, body, &out)
	return out, err
}

// doHeader sends one request with extra headers and body (JSON, nil for
// none), decodes a 2xx answer into out and returns the answer's headers.
func (c *Client) doHeader(ctx context.Context, method, path string, h http.Header, body []byte, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return nil, fmt.Errorf("labelhub client: %w", err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.roundTrip(req)
	if err != nil {
		return nil, err
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.Header, decodeError(resp)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return resp.Header, ctxErr
			}
			return resp.Header, fmt.Errorf("labelhub client: decode the answer of %s %s: %w", method, path, err)
		}
	}
	return resp.Header, nil
}
