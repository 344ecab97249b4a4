package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
)

// CallAPI makes a call to the hub's REST API with the run token: method
// and path (below the hub's base URL, e.g. "/api/v1/storages/ID"), an
// optional query, in marshalled as the JSON body (nil: no body) and the
// answer decoded into out (nil: ignored). A refusal is an *APIError with
// the hub's status, code and message. The token reaches the run's project
// only (and, for a file-explorer run, its storage integration).
func (r *Request) CallAPI(ctx context.Context, method, path string, query url.Values, in, out any) error {
	return r.callJSON(ctx, method+" "+path, method, path, query, in, out)
}

// callJSON is CallAPI with op, what the SDK was doing, for its errors.
func (r *Request) callJSON(ctx context.Context, op, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("plugin: %s: the body: %w", op, err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	res, err := r.call(ctx, op, method, path, query, ct, body)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("plugin: %s: the hub's answer: %w", op, err)
	}
	return nil
}
