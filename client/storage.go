package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labelhub/labelhub"
)

// Check is one step of ValidateStorage: "credentials", "bucket", "list",
// "read" or "cors", in that order.
type Check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Message string `json:"message"` // what was found and, when not OK, what to change
}

// Validation is the answer of ValidateStorage: OK when every check passed.
type Validation struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// Check returns the check named name, and whether there is one.
func (v Validation) Check(name string) (Check, bool) {
	for _, c := range v.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// The types of an Object.
const (
	ObjectFolder = "folder"
	ObjectFile   = "file"
)

// Object is one entry of a folder listing: a sub-folder (its Key ends in
// "/") or a file.
type Object struct {
	Type      string             `json:"type"` // ObjectFolder or ObjectFile
	Key       string             `json:"key"`
	Size      int64              `json:"size,omitempty"`
	ModTime   *time.Time         `json:"modTime,omitempty"`
	AssetType labelhub.AssetType `json:"assetType,omitempty"`
	// ValidAsset is true for files of a supported asset type.
	ValidAsset bool `json:"validAsset"`
}

// IsFolder reports whether o is a sub-folder.
func (o Object) IsFolder() bool { return o.Type == ObjectFolder }

// ObjectPage is one page of a folder: its folders first, then its files.
type ObjectPage struct {
	Items      []Object `json:"items"`
	NextCursor string   `json:"nextCursor,omitempty"` // "" on the last page
}

// CreateStorage creates a storage integration. The answer carries no
// secret: CredentialFields names the credential fields that were set.
func (c *Client) CreateStorage(ctx context.Context, in labelhub.StorageInput) (labelhub.Storage, error) {
	var out labelhub.Storage
	err := c.do(ctx, http.MethodPost, "/api/v1/storages", nil, in, &out)
	return out, err
}

// ListStorages returns one page of the organisation's storage integrations.
func (c *Client) ListStorages(ctx context.Context, p labelhub.PageRequest) (labelhub.Page[labelhub.Storage], error) {
	return list[labelhub.Storage](ctx, c, "/api/v1/storages", p, nil)
}

// GetStorage returns one storage integration (never its secrets).
func (c *Client) GetStorage(ctx context.Context, id string) (labelhub.Storage, error) {
	var out labelhub.Storage
	err := c.do(ctx, http.MethodGet, "/api/v1/storages/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// DeleteStorage deletes a storage integration; its bucket is not touched.
func (c *Client) DeleteStorage(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/storages/"+url.PathEscape(id), nil, nil, nil)
}

// ValidateStorage has the hub test an integration against its bucket and
// returns the checks. origin is the web origin whose GETs the bucket's CORS
// must allow (like "https://hub.example.com"); "" means the hub's own
// address as this client reaches it. Provider failures (a wrong secret, a
// missing bucket) are failed checks, not errors.
func (c *Client) ValidateStorage(ctx context.Context, id, origin string) (Validation, error) {
	var in any
	if origin != "" {
		in = struct {
			Origin string `json:"origin"`
		}{origin}
	}
	var out Validation
	err := c.do(ctx, http.MethodPost, "/api/v1/storages/"+url.PathEscape(id)+"/validate", nil, in, &out)
	return out, err
}

// ListObjects returns one page of one folder level of an integration's
// bucket: prefix "" is the top level, "images/2024/" a folder (a missing
// trailing "/" is added). cursor is the previous page's NextCursor ("" for
// the first page), limit the page size (0: the hub's default of 100; at
// most 1000).
func (c *Client) ListObjects(ctx context.Context, id, prefix, cursor string, limit int) (ObjectPage, error) {
	q := url.Values{}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out ObjectPage
	err := c.do(ctx, http.MethodGet, "/api/v1/storages/"+url.PathEscape(id)+"/objects", q, nil, &out)
	return out, err
}
