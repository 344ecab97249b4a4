package fileexplorer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/plugin"
)

// The plugin as the hub lists it.
const (
	Name        = "file-explorer"
	Title       = "File Explorer"
	Description = "Browse your storage integrations' buckets and import their files as assets. " +
		"Importing a folder again adds only what is new."
	DefaultConfig = `{"pageSize": 100}`
)

// Config is the plugin's Config JSON.
type Config struct {
	// PageSize is how many entries a listing run answers at most (1 to 1000).
	PageSize int `json:"pageSize"`
	// PollMillis is how often an import run reads the import's progress.
	PollMillis int `json:"pollMillis"`
}

// maxSummaryErrors is how many of an import's errors its summary names.
const maxSummaryErrors = 5

// maxKeyBytes is the longest object key of every provider.
const maxKeyBytes = 1024

// Handler serves the plugin's runs.
func Handler() plugin.Handler { return plugin.FileExplorerFunc(serve) }

func serve(ctx context.Context, r *plugin.FileExplorerRequest) (plugin.FileExplorerResult, error) {
	cfg := Config{PageSize: 100, PollMillis: 250}
	if err := r.DecodeConfig(&cfg); err != nil {
		return plugin.FileExplorerResult{}, err
	}
	if cfg.PageSize < 1 || cfg.PageSize > 1000 {
		return plugin.FileExplorerResult{}, fmt.Errorf("the Config JSON: pageSize must be from 1 to 1000, not %d", cfg.PageSize)
	}
	if r.IntegrationID == "" {
		return plugin.FileExplorerResult{}, errors.New("params.integrationId is required: the id of the storage integration to browse (GET /api/v1/storages lists them)")
	}
	folder, err := CleanFolder(r.Folder)
	if err != nil {
		return plugin.FileExplorerResult{}, err
	}
	if r.Bucket != "" {
		var st struct {
			Bucket string `json:"bucket"`
		}
		if err := r.CallAPI(ctx, http.MethodGet, "/api/v1/storages/"+url.PathEscape(r.IntegrationID), nil, nil, &st); err != nil {
			return plugin.FileExplorerResult{}, integrationError(r.IntegrationID, err)
		}
		if st.Bucket != r.Bucket {
			return plugin.FileExplorerResult{}, fmt.Errorf("params.bucket %q is not the bucket of the storage integration %s (%q); leave bucket out or name the integration of that bucket",
				r.Bucket, r.IntegrationID, st.Bucket)
		}
	}
	if !r.Upload {
		return list(ctx, r, folder, cfg.PageSize)
	}
	return importFolder(ctx, r, folder, time.Duration(cfg.PollMillis)*time.Millisecond)
}

// CleanFolder checks a folder path (a key prefix) and gives it its
// trailing "/" ("" is the bucket's root). Paths with a ".." or "."
// segment, a leading "/", "//", control characters or invalid UTF-8 are
// refused with the reason.
func CleanFolder(folder string) (string, error) {
	if folder == "" {
		return "", nil
	}
	if err := checkPath("params.folder", folder); err != nil {
		return "", err
	}
	if !strings.HasSuffix(folder, "/") {
		folder += "/"
	}
	return folder, nil
}

// checkPath refuses what no object key of a folder tree may be.
func checkPath(field, p string) error {
	bad := func(why string) error { return fmt.Errorf("%s %q: %s", field, p, why) }
	switch {
	case len(p) > maxKeyBytes:
		return fmt.Errorf("%s is %d bytes long; object keys are at most %d", field, len(p), maxKeyBytes)
	case !utf8.ValidString(p):
		return bad("is not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return bad(`must not start with "/": folders are relative to the bucket's root ("" is the root)`)
	case strings.Contains(p, "//"):
		return bad(`has an empty segment ("//")`)
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return bad(fmt.Sprintf("has a control character (%U)", c))
		}
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(p, "/"), "/") {
		if seg == "." || seg == ".." {
			return bad(fmt.Sprintf("has a %q segment; name the folder from the bucket's root, without . or ..", seg))
		}
	}
	return nil
}

// integrationError says what a refused call about the integration means.
func integrationError(id string, err error) error {
	var ae *plugin.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return fmt.Errorf("the storage integration %s does not exist (it was deleted, or is not this organisation's or this run's)", id)
	}
	return err
}

// object is an entry of the hub's folder listing.
type object struct {
	Type      string     `json:"type"`
	Key       string     `json:"key"`
	Size      int64      `json:"size"`
	ModTime   *time.Time `json:"modTime"`
	AssetType string     `json:"assetType"`
}

// listPage reads one page of a folder level from the hub.
func listPage(ctx context.Context, r *plugin.FileExplorerRequest, folder, token string, limit int) ([]object, string, error) {
	q := url.Values{"prefix": {folder}, "limit": {strconv.Itoa(limit)}}
	if token != "" {
		q.Set("cursor", token)
	}
	var page struct {
		Items      []object `json:"items"`
		NextCursor string   `json:"nextCursor"`
	}
	err := r.CallAPI(ctx, http.MethodGet, "/api/v1/storages/"+url.PathEscape(r.IntegrationID)+"/objects", q, nil, &page)
	if err != nil {
		var ae *plugin.APIError
		if errors.As(err, &ae) && ae.Status != http.StatusNotFound {
			if strings.Contains(ae.Message, "cursor") {
				return nil, "", fmt.Errorf("params.scrollToken is not a token of a listing of folder %q; list the folder again without it", folder)
			}
			return nil, "", fmt.Errorf("listing folder %q of the storage integration %s: %s", folder, r.IntegrationID, ae.Message)
		}
		return nil, "", integrationError(r.IntegrationID, err)
	}
	return page.Items, page.NextCursor, nil
}

// list answers a listing run: one page of the folder's level.
func list(ctx context.Context, r *plugin.FileExplorerRequest, folder string, limit int) (plugin.FileExplorerResult, error) {
	items, next, err := listPage(ctx, r, folder, r.ScrollToken, limit)
	if err != nil {
		return plugin.FileExplorerResult{}, err
	}
	res := plugin.FileExplorerResult{Folders: []string{}, Files: []string{}, Items: []plugin.FileItem{}}
	for _, o := range items {
		if o.Type == "folder" {
			res.Folders = append(res.Folders, o.Key)
			continue
		}
		it := plugin.FileItem{Key: o.Key, Size: o.Size, AssetType: o.AssetType}
		if o.ModTime != nil {
			it.LastModified = o.ModTime.UTC()
		}
		res.Files = append(res.Files, o.Key)
		res.Items = append(res.Items, it)
	}
	if next != "" {
		res.ScrollToken = &next
	}
	if folder != "" && r.ScrollToken == "" && len(items) == 0 && next == "" {
		return plugin.FileExplorerResult{}, missingFolder(folder)
	}
	return res, nil
}

func missingFolder(folder string) error {
	return fmt.Errorf("folder %q does not exist: nothing is stored under it in the bucket (folder names are case-sensitive)", folder)
}

// Summary is an import run's result summary.
type Summary struct {
	ImportID     string                 `json:"importId"`
	Folder       string                 `json:"folder"`
	Listed       int64                  `json:"listed"`       // objects listed
	Imported     int64                  `json:"imported"`     // new assets
	AlreadyThere int64                  `json:"alreadyThere"` // assets the project had already (same object key)
	NotAssets    int64                  `json:"notAssets"`    // objects of no asset type, left out
	Invalid      int64                  `json:"invalid"`      // objects refused, with errors
	Errors       []plugin.ImportProblem `json:"errors"`       // the first few
}

func summarize(folder string, s plugin.ImportSummary) Summary {
	c := s.Counts
	out := Summary{ImportID: s.ImportID, Folder: folder, Listed: c.Listed, Imported: c.Imported, AlreadyThere: c.Skipped,
		NotAssets: c.SkippedNotAsset, Invalid: c.Invalid, Errors: s.Errors}
	if len(out.Errors) > maxSummaryErrors {
		out.Errors = out.Errors[:maxSummaryErrors]
	}
	if out.Errors == nil {
		out.Errors = []plugin.ImportProblem{}
	}
	return out
}

// importFolder answers an import run: the hub lists the folder (or takes
// the selected files) and imports the asset files, skipping the object
// keys the project has already; the run follows it to its end.
func importFolder(ctx context.Context, r *plugin.FileExplorerRequest, folder string, every time.Duration) (plugin.FileExplorerResult, error) {
	for i, f := range r.Files {
		if err := checkPath(fmt.Sprintf("params.files[%d]", i), f); err != nil {
			return plugin.FileExplorerResult{}, err
		}
		if f == "" || strings.HasSuffix(f, "/") {
			return plugin.FileExplorerResult{}, fmt.Errorf("params.files[%d] %q is not a file's key", i, f)
		}
	}
	if len(r.Files) == 0 && folder != "" {
		// A folder that holds nothing is most likely a misspelt one.
		items, next, err := listPage(ctx, r, folder, "", 1)
		if err != nil {
			return plugin.FileExplorerResult{}, err
		}
		if len(items) == 0 && next == "" {
			return plugin.FileExplorerResult{}, missingFolder(folder)
		}
	}
	body := labelhub.FolderImportRequest{StorageID: r.IntegrationID, Folder: folder, Recursive: r.Recursive, Files: r.Files, Batches: r.Batches,
		CreateBatches: len(r.Batches) > 0, OnDuplicate: "skip"}
	var started struct {
		ImportID string `json:"importId"`
	}
	err := r.CallAPI(ctx, http.MethodPost, "/api/v1/projects/"+url.PathEscape(r.ProjectID)+"/imports/folder", nil, body, &started)
	if err != nil {
		var ae *plugin.APIError
		if errors.As(err, &ae) {
			return plugin.FileExplorerResult{}, fmt.Errorf("the hub refused to import folder %q: %s", folder, ae.Message)
		}
		return plugin.FileExplorerResult{}, err
	}
	what := fmt.Sprintf("folder %q", folder)
	if len(r.Files) > 0 {
		what = fmt.Sprintf("%d selected files", len(r.Files))
	} else if r.Recursive {
		what += " and its sub-folders"
	}
	r.Log.Info("importing "+what, "importId", started.ImportID, "integrationId", r.IntegrationID)
	sum, err := r.FollowImport(ctx, started.ImportID, every)
	out := summarize(folder, sum)
	if err != nil {
		if ctx.Err() != nil {
			r.Log.Warn(err.Error())
			return plugin.FileExplorerResult{}, err
		}
		if sum.ImportID == "" {
			return plugin.FileExplorerResult{}, err
		}
		reason := sum.Error
		if reason == "" {
			reason = err.Error()
		}
		return plugin.FileExplorerResult{}, fmt.Errorf("the import of %s %s after %d objects listed and %d assets imported: %s",
			what, sum.State, out.Listed, out.Imported, reason)
	}
	r.Log.Info(fmt.Sprintf("imported %s: %d new assets, %d already there, %d not assets, %d invalid", what, out.Imported, out.AlreadyThere, out.NotAssets, out.Invalid),
		"importId", out.ImportID)
	b, err := json.Marshal(out)
	if err != nil {
		return plugin.FileExplorerResult{}, err
	}
	return plugin.FileExplorerResult{Folders: []string{}, Files: []string{}, Summary: b}, nil
}
