package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ExportOptions are the filters and options of Export; zero fields take
// the hub's defaults.
type ExportOptions struct {
	Format        string   // labelhub.ExportJSON (default) or labelhub.ExportNDJSON
	Batches       []string // batch ids or names; assets in any of them
	Stage         string   // a stageId of the workflow
	UpdatedAfter  time.Time
	UpdatedBefore time.Time
	// History, when not nil, says whether to include stageHistory (the
	// hub's default: true).
	History *bool
	// Metadata includes the items' createdAt/updatedAt/createdBy/updatedBy.
	Metadata bool
	// URLTTL is the lifetime of signed asset URLs (0: an hour; at most 7
	// days), rounded down to seconds.
	URLTTL time.Duration
	// Progress, when not nil, is called as objects pass with how many have
	// been written and the total the hub announced (X-Total-Count, -1 when
	// it sent none). It runs on the goroutine that called Export.
	Progress func(done, total int64)
}

func (o ExportOptions) values() url.Values {
	v := url.Values{}
	if o.Format != "" {
		v.Set("format", o.Format)
	}
	for _, b := range o.Batches {
		v.Add("batch", b)
	}
	if o.Stage != "" {
		v.Set("stage", o.Stage)
	}
	if !o.UpdatedAfter.IsZero() {
		v.Set("updatedAfter", o.UpdatedAfter.Format(time.RFC3339Nano))
	}
	if !o.UpdatedBefore.IsZero() {
		v.Set("updatedBefore", o.UpdatedBefore.Format(time.RFC3339Nano))
	}
	if o.History != nil {
		v.Set("includeHistory", strconv.FormatBool(*o.History))
	}
	if o.Metadata {
		v.Set("includeMetadata", "true")
	}
	if o.URLTTL != 0 {
		v.Set("urlTTL", strconv.FormatInt(int64(o.URLTTL/time.Second), 10))
	}
	return v
}

// Export streams a project's export (formats.md §3) into w as the hub
// sends it, without holding it in memory, and returns the number of
// objects the hub announced. A problem with the request is an
// *labelhub.Error before anything is written; an export the hub could not
// finish (it cuts the stream) is an error too, and what w received then is
// incomplete. Set a long or no timeout on the HTTP client for big exports.
func (c *Client) Export(ctx context.Context, projectID string, opts ExportOptions, w io.Writer) (total int64, err error) {
	path := "/api/v1/projects/" + url.PathEscape(projectID) + "/export"
	u := c.BaseURL
	for len(u) > 0 && u[len(u)-1] == '/' {
		u = u[:len(u)-1]
	}
	u += path
	if q := opts.values(); len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("labelhub client: %w", err)
	}
	resp, err := c.roundTrip(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, decodeError(resp)
	}
	total = -1
	if v := resp.Header.Get("X-Total-Count"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			total = n
		}
	}
	cw := &objectCounter{w: w, total: total, progress: opts.Progress}
	if _, err := io.Copy(cw, resp.Body); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return total, ctxErr
		}
		return total, fmt.Errorf("labelhub client: the export of project %s stopped after %d objects: %w", projectID, cw.n, err)
	}
	if total >= 0 && cw.n != total {
		return total, fmt.Errorf("labelhub client: the export of project %s has %d objects, the hub announced %d", projectID, cw.n, total)
	}
	return total, nil
}

// objectCounter passes bytes on and counts the exported objects: each
// ends with "}" and a newline (JSON strings hold no raw newline, so the
// pair appears nowhere else).
type objectCounter struct {
	w        io.Writer
	n, total int64
	last     byte
	progress func(done, total int64)
}

func (c *objectCounter) Write(p []byte) (int, error) {
	before := c.n
	for _, b := range p {
		if b == '\n' && c.last == '}' {
			c.n++
		}
		c.last = b
	}
	n, err := c.w.Write(p)
	if c.progress != nil && c.n != before {
		c.progress(c.n, c.total)
	}
	return n, err
}
