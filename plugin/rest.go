package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// apiClient makes the SDK's REST calls. It has no overall timeout:
// streams such as an export last as long as they need; the caller's
// context bounds each call.
var apiClient = &http.Client{}

// APIError is the hub's refusal of a REST call made with the run token:
// the HTTP status, the error code (not_found, forbidden, invalid, …) and
// the message, with the paths of the problems it names.
type APIError struct {
	Op      string // what the SDK was doing, e.g. "read the export"
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("plugin: %s: the hub answered HTTP %d (%s): %s", e.Op, e.Status, e.Code, e.Message)
}

// readAPIError reads the hub's error shape from a failed answer; an
// answer in another shape is given as its text.
func readAPIError(res *http.Response) (code, message string) {
	var shape struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details []struct {
				Path    string `json:"path"`
				Message string `json:"message"`
			} `json:"details"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	code, message = "unknown", strings.TrimSpace(string(b))
	if json.Unmarshal(b, &shape) == nil && shape.Error.Code != "" {
		code, message = shape.Error.Code, shape.Error.Message
		for _, d := range shape.Error.Details {
			message += "; " + d.Path + ": " + d.Message
		}
	}
	return code, message
}

// call makes a REST call to the hub with the run token and returns the
// answer when its status is 2xx; the caller closes its body. path is
// below the API's base, e.g. /api/v1/projects/ID; body may be nil.
func (r *Request) call(ctx context.Context, op, method, path string, query url.Values, contentType string, body io.Reader) (*http.Response, error) {
	base, err := httpBase(r.Host)
	if err != nil {
		return nil, err
	}
	target := base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	if body != nil {
		body = onlyReader{body}
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("plugin: %s: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+r.APIKey)
	req.Header.Set("User-Agent", "labelhub-plugin/"+Version)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := apiClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("plugin: %s: %w", op, err)
	}
	if res.StatusCode/100 != 2 {
		defer res.Body.Close()
		code, msg := readAPIError(res)
		return nil, &APIError{Op: op, Status: res.StatusCode, Code: code, Message: msg}
	}
	return res, nil
}

// getJSON GETs path and decodes the answer into v.
func (r *Request) getJSON(ctx context.Context, op, path string, query url.Values, v any) error {
	return r.callJSON(ctx, op, http.MethodGet, path, query, nil, v)
}
