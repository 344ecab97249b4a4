package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// uploadClient sends result files. It has no overall timeout (files may
// be large); the run's context bounds each upload.
var uploadClient = &http.Client{}

// uploadAttempts bounds the tries of an upload whose reader can rewind.
const uploadAttempts = 3

// Artifact is the hub's record of an uploaded result file.
type Artifact struct {
	RunID       string    `json:"runId"`
	Name        string    `json:"name"`
	Size        int64     `json:"size"`
	ContentType string    `json:"contentType"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

// UploadError is the hub's refusal of an upload: its HTTP status, error
// code (too_large, invalid, …) and message.
type UploadError struct {
	Status  int
	Code    string
	Message string
}

func (e *UploadError) Error() string {
	return fmt.Sprintf("plugin: the hub refused the result file (HTTP %d, %s): %s", e.Status, e.Code, e.Message)
}

// UploadResult streams the run's result file to the hub over HTTP with the
// run token (PUT /api/v1/runs/{id}/artifact), never through the socket and
// without holding it in memory. A run keeps one file; uploading again
// replaces it. It must happen while the run is running, so before the
// handler returns. A reader that is also an io.Seeker is retried from
// where it started after a network error or a 5xx answer; others are
// tried once. The hub refuses files over its --artifact-max-bytes with an
// *UploadError of status 413.
func (r *Request) UploadResult(ctx context.Context, name string, body io.Reader) error {
	_, err := r.upload(ctx, name, body)
	return err
}

func (r *Request) upload(ctx context.Context, name string, body io.Reader) (Artifact, error) {
	base, err := httpBase(r.Host)
	if err != nil {
		return Artifact{}, err
	}
	target := base + "/api/v1/runs/" + url.PathEscape(r.Session) + "/artifact?name=" + url.QueryEscape(name)
	seeker, canRetry := body.(io.Seeker)
	var start, size int64 = 0, -1
	if canRetry {
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			canRetry = false
		} else if end, err := seeker.Seek(0, io.SeekEnd); err == nil {
			size = end - start
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return Artifact{}, fmt.Errorf("plugin: rewind the result file: %w", err)
			}
		}
	}
	var lastErr error
	for attempt := 1; ; attempt++ {
		art, retry, err := r.uploadOnce(ctx, target, body, size)
		if err == nil {
			r.uploaded.Store(true)
			return art, nil
		}
		lastErr = err
		if !retry || !canRetry || attempt >= uploadAttempts || ctx.Err() != nil {
			return Artifact{}, lastErr
		}
		r.Log.Warn("result upload failed; retrying", "err", err, "attempt", attempt)
		select {
		case <-ctx.Done():
			return Artifact{}, lastErr
		case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
		}
		if _, err := seeker.Seek(start, io.SeekStart); err != nil {
			return Artifact{}, fmt.Errorf("plugin: rewind the result file: %w (after %v)", err, lastErr)
		}
	}
}

// uploadOnce sends one PUT; retry says whether another try could help.
func (r *Request) uploadOnce(ctx context.Context, target string, body io.Reader, size int64) (Artifact, bool, error) {
	// onlyReader hides the concrete type, so that net/http streams the
	// body (with the length when known, else chunked) instead of
	// inspecting it.
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, onlyReader{body})
	if err != nil {
		return Artifact{}, false, fmt.Errorf("plugin: %w", err)
	}
	if size >= 0 {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	req.Header.Set("Authorization", "Bearer "+r.APIKey)
	req.Header.Set("User-Agent", "labelhub-plugin/"+Version)
	res, err := uploadClient.Do(req)
	if err != nil {
		return Artifact{}, true, fmt.Errorf("plugin: upload the result file: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		code, msg := readAPIError(res)
		return Artifact{}, res.StatusCode >= 500, &UploadError{Status: res.StatusCode, Code: code, Message: msg}
	}
	var art Artifact
	if err := json.NewDecoder(res.Body).Decode(&art); err != nil {
		return Artifact{}, false, fmt.Errorf("plugin: the hub's answer to the upload: %w", err)
	}
	return art, false, nil
}

type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// httpBase turns the hub's URL (http, https, ws or wss) into the base of
// its REST API.
func httpBase(host string) (string, error) {
	u, err := url.Parse(strings.TrimRight(host, "/"))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("plugin: Host %q is not a URL like http://127.0.0.1:8080", host)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return "", errors.New("plugin: Host must start with http:// or https://")
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}
