package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labelhub/labelhub"
)

// FolderImport is a folder import request (docs/imports.md, "Folder
// imports"): every object of an asset type under Folder of the StorageID's
// bucket ("" for the bucket's root; with Recursive the sub-folders too), or
// only the Files keys, each as an asset whose externalId is the object key.
// OnDuplicate defaults to "skip", so importing a folder again adds only the
// new objects.
type FolderImport = labelhub.FolderImportRequest

// ImportFolder starts a folder import into a project. With wait the answer
// comes when the import is done; otherwise at once (poll GetImport until
// Done: Counts.Listed grows as the bucket is listed).
func (c *Client) ImportFolder(ctx context.Context, projectID string, req FolderImport, wait bool) (ImportStatus, error) {
	var out ImportStatus
	q := url.Values{"wait": {strconv.FormatBool(wait)}}
	err := c.do(ctx, http.MethodPost, "/api/v1/projects/"+url.PathEscape(projectID)+"/imports/folder", q, req, &out)
	return out, err
}

// CancelImport stops a running import at a batch boundary; what it
// imported stays (RollbackImport removes it; a folder import run again
// completes it). The answer is the cancelled import.
func (c *Client) CancelImport(ctx context.Context, id string) (ImportStatus, error) {
	var out ImportStatus
	err := c.do(ctx, http.MethodPost, "/api/v1/imports/"+url.PathEscape(id)+"/cancel", nil, nil, &out)
	return out, err
}
