package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labelhub/labelhub"
)

// ImportOptions are the options of an asset import (formats.md §1).
type ImportOptions struct {
	// StorageID names the storage integration whose bucket the items' URLs
	// point into ("" for public URLs).
	StorageID string
	// Batches (names or ids) every item is added to, next to its own.
	Batches []string
	// CreateBatches creates unknown batch names instead of refusing them.
	CreateBatches bool
	// OnDuplicate is what to do with an item whose externalId the project
	// has already: "allow" (the default), "skip", "update" or "error".
	OnDuplicate string
	// Atomic writes nothing when any item is invalid.
	Atomic bool
	// DryRun checks and counts the items without writing any asset.
	DryRun bool
	// Wait makes the hub answer when the import is finished; otherwise it
	// answers once the body is received and the import goes on (poll
	// GetImport).
	Wait bool
	// Size, when > 0, is the body's length in bytes, sent as its
	// Content-Length; otherwise a body of unknown length is sent chunked.
	Size int64
}

func (o ImportOptions) query() url.Values {
	q := url.Values{}
	if o.StorageID != "" {
		q.Set("storageId", o.StorageID)
	}
	for _, b := range o.Batches {
		q.Add("batches", b)
	}
	if o.CreateBatches {
		q.Set("createBatches", "true")
	}
	if o.OnDuplicate != "" {
		q.Set("onDuplicate", o.OnDuplicate)
	}
	if o.Atomic {
		q.Set("atomic", "true")
	}
	if o.DryRun {
		q.Set("dryRun", "true")
	}
	q.Set("wait", strconv.FormatBool(o.Wait))
	return q
}

// ImportStatus is an import as the hub reports it: state, counts, bytes
// received and the first page of errors (Errors; the rest through
// ImportErrors from ErrorsNextCursor).
type ImportStatus struct {
	ImportID string `json:"importId"`
	labelhub.Import
}

// Done reports whether the import has stopped working: succeeded, failed,
// cancelled or rolled back.
func (s ImportStatus) Done() bool {
	return s.State != labelhub.ImportRunning && s.State != labelhub.ImportQueued && s.State != ""
}

// AssetFilter narrows ListAssets; empty fields do not filter.
type AssetFilter struct {
	Batch      string             // a batch of the project, by id or name
	ExternalID string             // the user's name of the asset
	Type       labelhub.AssetType // e.g. labelhub.AssetImage
}

// Import sends an import file (a JSON array, NDJSON, or {"assets": […]};
// formats.md §1) to a project. The body is streamed as it is read, never
// held in memory; to show upload progress, wrap it in a reader that counts.
// Without opts.Wait the answer comes when the hub has the whole body and
// the import goes on; poll GetImport until Done.
func (c *Client) Import(ctx context.Context, projectID string, body io.Reader, opts ImportOptions) (ImportStatus, error) {
	var out ImportStatus
	err := c.stream(ctx, "/api/v1/projects/"+url.PathEscape(projectID)+"/imports", opts.query(), body, opts.Size, &out)
	return out, err
}

// GetImport returns an import with its first page of errors.
func (c *Client) GetImport(ctx context.Context, id string) (ImportStatus, error) {
	var out ImportStatus
	err := c.do(ctx, http.MethodGet, "/api/v1/imports/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// ImportErrors returns one page of an import's errors, in item order.
func (c *Client) ImportErrors(ctx context.Context, id string, p labelhub.PageRequest) (labelhub.Page[labelhub.ImportError], error) {
	return list[labelhub.ImportError](ctx, c, "/api/v1/imports/"+url.PathEscape(id)+"/errors", p, nil)
}

// ResumeImport resumes a failed import from where it stopped (a conflict
// when its upload was cut). The answer comes at once; poll GetImport.
func (c *Client) ResumeImport(ctx context.Context, id string) (ImportStatus, error) {
	var out ImportStatus
	err := c.do(ctx, http.MethodPost, "/api/v1/imports/"+url.PathEscape(id)+"/resume", nil, nil, &out)
	return out, err
}

// RollbackImport removes the assets an import added. With wait the answer
// comes when they are gone.
func (c *Client) RollbackImport(ctx context.Context, id string, wait bool) (ImportStatus, error) {
	var out ImportStatus
	q := url.Values{"wait": {strconv.FormatBool(wait)}}
	err := c.do(ctx, http.MethodPost, "/api/v1/imports/"+url.PathEscape(id)+"/rollback", q, nil, &out)
	return out, err
}

// ImportLabels sends a label import (formats.md §2: a JSON array of entries
// naming assets by externalId) to a project and returns the finished
// import; entries naming no asset are among its errors.
func (c *Client) ImportLabels(ctx context.Context, projectID string, body io.Reader) (ImportStatus, error) {
	var out ImportStatus
	err := c.stream(ctx, "/api/v1/projects/"+url.PathEscape(projectID)+"/labels", nil, body, 0, &out)
	return out, err
}

// ListAssets returns one page of a project's assets, oldest first.
func (c *Client) ListAssets(ctx context.Context, projectID string, f AssetFilter, p labelhub.PageRequest) (labelhub.Page[labelhub.Asset], error) {
	q := url.Values{}
	if f.Batch != "" {
		q.Set("batch", f.Batch)
	}
	if f.ExternalID != "" {
		q.Set("externalId", f.ExternalID)
	}
	if f.Type != "" {
		q.Set("type", string(f.Type))
	}
	return list[labelhub.Asset](ctx, c, "/api/v1/projects/"+url.PathEscape(projectID)+"/assets", p, q)
}

// GetAsset returns one asset.
func (c *Client) GetAsset(ctx context.Context, id string) (labelhub.Asset, error) {
	var out labelhub.Asset
	err := c.do(ctx, http.MethodGet, "/api/v1/assets/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// AssetContentURL is the address of an asset's bytes on the hub (page
// page of a multi-page asset; 0 otherwise). A GET with the API key answers
// a redirect to a signed or public URL, or the bytes themselves.
func (c *Client) AssetContentURL(id string, page int) string {
	u := strings.TrimRight(c.BaseURL, "/") + "/api/v1/assets/" + url.PathEscape(id) + "/content"
	if page > 0 {
		u += "?page=" + strconv.Itoa(page)
	}
	return u
}

func (c *Client) stream(ctx context.Context, path string, q url.Values, body io.Reader, size int64, out any) error {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	if body == nil {
		body = strings.NewReader("")
	}
	return c.send(ctx, http.MethodPost, u, path, body, size, out)
}
