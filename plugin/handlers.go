package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Handler serves runs, like http.Handler serves requests. The result is
// marshalled to JSON and becomes the run's result; an error fails the run
// with its text. ctx is cancelled when the run is cancelled or its
// connection is lost.
type Handler interface {
	ServeRun(ctx context.Context, r *Request) (any, error)
}

// HandlerFunc is a Handler for any plugin type; it reads the type's
// fields from r.Params.
type HandlerFunc func(ctx context.Context, r *Request) (any, error)

// ServeRun implements Handler.
func (f HandlerFunc) ServeRun(ctx context.Context, r *Request) (any, error) { return f(ctx, r) }

// FileExplorerRequest is a run of a file-explorer plugin (formats.md §4).
type FileExplorerRequest struct {
	*Request
	FileExplorerParams
}

// FileExplorerParams are the file-explorer fields of a run's params.
type FileExplorerParams struct {
	IntegrationID string   `json:"integrationId"`
	Bucket        string   `json:"bucket"`
	Folder        string   `json:"folder"`
	ScrollToken   string   `json:"scrollToken"`
	Upload        bool     `json:"upload"`    // false: list Folder; true: import
	Recursive     bool     `json:"recursive"` // import sub-folders too
	Files         []string `json:"files"`     // selected keys, when importing a selection
}

// FileExplorerResult answers a listing ({folders, files, scrollToken}) or,
// when importing, carries a summary. Items, when given, describes Files
// one to one for the hub's folder browser (size, type, whether each is an
// asset); plugins that leave it out show plain names.
type FileExplorerResult struct {
	Folders     []string        `json:"folders"`
	Files       []string        `json:"files"`
	ScrollToken *string         `json:"scrollToken"`
	Items       []FileItem      `json:"items,omitempty"`
	Summary     json.RawMessage `json:"summary,omitempty"`
}

// FileItem describes one file of a listing.
type FileItem struct {
	Key          string    `json:"key"`                   // the object key, as in Files
	Size         int64     `json:"size"`                  // bytes
	LastModified time.Time `json:"lastModified,omitzero"` //
	ContentType  string    `json:"contentType,omitempty"` // when the store knows it
	AssetType    string    `json:"assetType,omitempty"`   // image, video, …; "" when the file is not a valid asset
}

// FileExplorerFunc is a Handler for file-explorer plugins.
type FileExplorerFunc func(ctx context.Context, r *FileExplorerRequest) (FileExplorerResult, error)

// ServeRun implements Handler.
func (f FileExplorerFunc) ServeRun(ctx context.Context, r *Request) (any, error) {
	fr := &FileExplorerRequest{Request: r}
	if err := decodeParams(r.Params, &fr.FileExplorerParams); err != nil {
		return nil, err
	}
	res, err := f(ctx, fr)
	if err != nil {
		return nil, err
	}
	if res.Folders == nil {
		res.Folders = []string{}
	}
	if res.Files == nil {
		res.Files = []string{}
	}
	return res, nil
}

// ExportRequest is a run of an export plugin (formats.md §4). The export
// itself (jsonExport) is read over HTTP with r.APIKey, as a stream.
type ExportRequest struct {
	*Request
	ExportParams
}

// ExportParams are the export fields of a run's params: the filters and
// options of the export (formats.md §3) and its size. The batches are the
// run's Batches.
type ExportParams struct {
	Stage    string `json:"stage"`    // a stage id or name; "" for every stage
	NumTasks int64  `json:"numTasks"` // tasks the export holds when the run was created, set by the hub
	// UpdatedAfter and UpdatedBefore bound the tasks' updatedAt (RFC 3339).
	UpdatedAfter  string `json:"updatedAfter,omitempty"`
	UpdatedBefore string `json:"updatedBefore,omitempty"`
	// IncludeHistory adds task.stageHistory (the hub's default: true).
	IncludeHistory *bool `json:"includeHistory,omitempty"`
	// IncludeMetadata adds createdAt/updatedAt/createdBy/updatedBy to every item.
	IncludeMetadata bool `json:"includeMetadata,omitempty"`
}

// ExportResult names the file an export plugin made. With Reader set the
// SDK uploads the file (UploadResult, named FileName) before it reports
// the run done, and closes Reader if it is an io.Closer; users download
// it with `labelhub run download RUN_ID`.
type ExportResult struct {
	FileName string `json:"fileName"`
	// Size and anything else the plugin wants to report. Size is set from
	// the upload when Reader is given and Size is 0.
	Size int64          `json:"size,omitempty"`
	Info map[string]any `json:"info,omitempty"`
	// Reader is the file's content (a zip), streamed to the hub over HTTP.
	Reader io.Reader `json:"-"`
}

// ErrNoExportFile fails an export run whose ExportFunc returned no
// Reader and uploaded no file with UploadResult before: an export run
// always ends with a file to download.
var ErrNoExportFile = errors.New("the export plugin returned no file: set ExportResult.Reader (or call UploadResult) before returning")

// ExportFunc is a Handler for export plugins. A result without Reader is
// an error (ErrNoExportFile) unless the function uploaded its file with
// UploadResult itself.
type ExportFunc func(ctx context.Context, r *ExportRequest) (ExportResult, error)

// ServeRun implements Handler.
func (f ExportFunc) ServeRun(ctx context.Context, r *Request) (any, error) {
	er := &ExportRequest{Request: r}
	if err := decodeParams(r.Params, &er.ExportParams); err != nil {
		return nil, err
	}
	res, err := f(ctx, er)
	if c, ok := res.Reader.(io.Closer); ok {
		defer c.Close()
	}
	if err != nil {
		return res, err
	}
	if res.Reader == nil {
		if !r.uploaded.Load() {
			return nil, ErrNoExportFile
		}
		return res, nil
	}
	if res.FileName == "" {
		return nil, fmt.Errorf("plugin: the ExportResult has a Reader but no FileName to upload it as")
	}
	art, err := r.upload(ctx, res.FileName, res.Reader)
	if err != nil {
		return nil, err
	}
	if res.Size == 0 {
		res.Size = art.Size
	}
	return res, nil
}

// decodeParams fills the type's fields from params; fields of other types are ignored, so one params
// shape serves old and new plugins.
func decodeParams(params json.RawMessage, dst any) error {
	if len(params) == 0 {
		return nil
	}
	if err := json.Unmarshal(params, dst); err != nil {
		return fmt.Errorf("the run's params: %w", err)
	}
	return nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}
