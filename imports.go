package labelhub

import (
	"context"
	"time"
)

// ImportState is the state of an import job.
type ImportState string

// The states of an import. Running imports whose runner stopped (a crash,
// a shutdown) are resumed from their spooled body, or marked failed when
// the upload itself was cut; RolledBack says that what the import added was
// removed.
const (
	ImportQueued     ImportState = "queued"
	ImportRunning    ImportState = "running"
	ImportSucceeded  ImportState = "succeeded"
	ImportFailed     ImportState = "failed"
	ImportCancelled  ImportState = "cancelled"
	ImportRolledBack ImportState = "rolled_back"
)

// Import kinds.
const (
	ImportKindAssets = "assets" // formats.md §1
	ImportKindLabels = "labels" // formats.md §2
)

// OnDuplicate values: what an import does with an item whose externalId
// names an asset of the project already (or an earlier item of the file).
const (
	DuplicateAllow  = "allow"  // import it anyway (the default)
	DuplicateSkip   = "skip"   // leave it out, counted as skipped
	DuplicateUpdate = "update" // update the existing assets with it
	DuplicateError  = "error"  // report it as an invalid item
)

// ImportOptions are the query options of an import request.
type ImportOptions struct {
	StorageID     string   `json:"storageId,omitempty"`
	Batches       []string `json:"batches,omitempty"`
	CreateBatches bool     `json:"createBatches"`
	DryRun        bool     `json:"dryRun"`
	Atomic        bool     `json:"atomic"`
	OnDuplicate   string   `json:"onDuplicate"`
	// Folder, when set, makes this a folder import: the hub lists the
	// objects of the StorageID's bucket instead of reading an import file.
	Folder *FolderSource `json:"folder,omitempty"`
}

// FolderImportRequest is the body of POST
// /api/v1/projects/{projectId}/imports/folder: import every object of an
// asset type under Folder of the StorageID's bucket (or the Files keys),
// each as an asset with the object's URL as data and its key as
// externalId. OnDuplicate defaults to "skip", so importing a folder again
// adds only the objects that are new.
type FolderImportRequest struct {
	StorageID     string   `json:"storageId"`
	Folder        string   `json:"folder"`
	Recursive     bool     `json:"recursive"`
	Files         []string `json:"files,omitempty"`
	Batches       []string `json:"batches,omitempty"`
	CreateBatches bool     `json:"createBatches"`
	OnDuplicate   string   `json:"onDuplicate,omitempty"`
}

// MaxFolderImportFiles is the most keys one folder import may select.
const MaxFolderImportFiles = 10_000

// FolderSource is what a folder import lists (docs/imports.md, "Folder
// imports"): every object under Folder (a key prefix ending in "/", or ""
// for the bucket's root), one level or with Recursive every level; or,
// when Files is set, those keys only.
type FolderSource struct {
	Folder    string   `json:"folder"`
	Recursive bool     `json:"recursive"`
	Files     []string `json:"files,omitempty"`
}

// ImportCounts count the items of an import. Received = Valid + Invalid;
// of the valid items, Imported were added, Updated updated existing
// assets (onDuplicate=update) and Skipped left out (onDuplicate=skip).
// Invalid counts items with problems, including duplicates refused by
// onDuplicate=error. A dry run only counts Received, Valid and Invalid.
//
// A folder import also counts Listed, the objects listed, of which
// SkippedNotAsset were no asset type (left out, not errors) and Received
// the others; its Skipped are the objects the project had already.
type ImportCounts struct {
	Received        int64 `json:"received"`
	Valid           int64 `json:"valid"`
	Imported        int64 `json:"imported"`
	Updated         int64 `json:"updated"`
	Skipped         int64 `json:"skipped"`
	Invalid         int64 `json:"invalid"`
	Listed          int64 `json:"listed"`
	SkippedNotAsset int64 `json:"skippedNotAsset"`
}

// Add adds d to c.
func (c *ImportCounts) Add(d ImportCounts) {
	c.Received += d.Received
	c.Valid += d.Valid
	c.Imported += d.Imported
	c.Updated += d.Updated
	c.Skipped += d.Skipped
	c.Invalid += d.Invalid
	c.Listed += d.Listed
	c.SkippedNotAsset += d.SkippedNotAsset
}

// ImportError is one problem of one item of an import.
type ImportError struct {
	Index   int64  `json:"index"`          // 0-based item index
	Line    int64  `json:"line,omitempty"` // 1-based line of the item's first byte
	Path    string `json:"path"`           // "[12].metadata.frameRate"
	Message string `json:"message"`
}

// Import is an import job and its outcome.
type Import struct {
	ID        string        `json:"id"`
	OrgID     string        `json:"orgId"`
	ProjectID string        `json:"projectId"`
	Kind      string        `json:"kind"`
	State     ImportState   `json:"state"`
	Options   ImportOptions `json:"options"`
	Counts    ImportCounts  `json:"counts"`
	// NextIndex is the index of the first item not yet committed.
	NextIndex int64 `json:"nextIndex"`
	// Bytes of the body received; Uploaded says the body was received whole.
	Bytes    int64 `json:"bytes"`
	Uploaded bool  `json:"uploaded"`
	// Phase is "validate" or "write" for an atomic import, else "".
	Phase      string     `json:"phase,omitempty"`
	Error      string     `json:"error,omitempty"`
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// Errors is the first page of errors (GET /imports/{id}); the rest are
	// paged by GET /imports/{id}/errors from ErrorsNextCursor.
	Errors           []ImportError `json:"errors"`
	ErrorsNextCursor string        `json:"errorsNextCursor,omitempty"`
	// ErrorsStored is how many errors were kept (at most MaxImportErrors).
	ErrorsStored int64 `json:"errorsStored"`

	// ResumeKey is, for a folder import, the last object key committed:
	// a resume lists again and goes on after it.
	ResumeKey   string    `json:"-"`
	Spool       string    `json:"-"` // path of the spooled body
	Runner      string    `json:"-"` // the process working on it
	HeartbeatAt time.Time `json:"-"`
}

// MaxImportErrors is the number of errors kept for one import; the counts
// stay exact beyond it.
const MaxImportErrors = 100_000

// NewAsset is one asset (and its task) an import adds, or the new content
// of the existing assets with its externalId (onDuplicate=update).
type NewAsset struct {
	Index      int64 // item index in the file
	Line       int64
	ID         string
	ExternalID string
	Type       AssetType
	Data       string // URL or inline text
	Doc        string // compact JSON: dataset, metadata, contextData, attachments, editorType
	StorageID  string
	ProbeState string
	BatchIDs   []string
	Answer     string // the task's answer (pre-labels), "" for none
}

// ImportBatch is one transaction of an import: the rows, the errors, the
// counts and the new NextIndex go in together or not at all.
type ImportBatch struct {
	ImportID, Runner string
	OrgID, ProjectID string
	StageID          string
	OnDuplicate      string
	DryRun           bool
	// Validation marks the first pass of an atomic import, which writes
	// nothing and counts only received, valid and invalid items: what it
	// would import is not counted, so a failed atomic import reports 0
	// imported, as its error says.
	Validation bool
	Assets     []NewAsset
	Errors     []ImportError
	Delta      ImportCounts // Received, Valid and Invalid of the batch
	NextIndex  int64
	ResumeKey  string // a folder import's last object key of the batch
	Now        time.Time
}

// AssetFilter narrows a list of assets.
type AssetFilter struct {
	BatchID    string
	ExternalID string
	Type       AssetType
}

// LabelUpdate sets the answer of the tasks of every asset with an externalId.
type LabelUpdate struct {
	Index      int64
	Line       int64
	ExternalID string
	Answer     string // JSON of an Answer
}

// AssetStore keeps assets and their tasks.
type AssetStore interface {
	GetAsset(ctx context.Context, orgID, id string) (Asset, error)
	ListAssets(ctx context.Context, orgID, projectID string, f AssetFilter, p PageRequest) (Page[Asset], error)
	// FirstStage is the id of the first stage of the project's workflow.
	FirstStage(ctx context.Context, orgID, projectID string) (string, error)
	// ApplyLabels sets the answers; it returns the indexes of the updates
	// whose externalId names no asset of the project.
	ApplyLabels(ctx context.Context, orgID, projectID, userID string, ups []LabelUpdate) (unmatched []int, err error)
}

// ImportStore keeps import jobs. Methods that take a runner change an
// import only while that runner holds it, and answer ECodeConflict when it
// does not (another process took it over).
type ImportStore interface {
	CreateImport(ctx context.Context, imp Import) error
	GetImport(ctx context.Context, orgID, id string) (Import, error)
	ListImportErrors(ctx context.Context, orgID, id string, p PageRequest) (Page[ImportError], error)
	SetImportUploaded(ctx context.Context, id, runner string, bytes int64) error
	SetImportPhase(ctx context.Context, id, runner, phase string, reset bool) error
	CommitImportBatch(ctx context.Context, b ImportBatch) (ImportCounts, error)
	HeartbeatImport(ctx context.Context, id, runner string, at time.Time) error
	// ClaimStaleImports takes over running imports whose heartbeat is
	// older than staleBefore, each with a conditional update, and returns
	// those this runner got.
	ClaimStaleImports(ctx context.Context, runner string, staleBefore time.Time) ([]Import, error)
	// ClaimImport takes one import of the organisation over (to resume or
	// roll it back) when its state is one of from, or it is running with a
	// heartbeat older than staleBefore; it is then running under runner.
	ClaimImport(ctx context.Context, orgID, id, runner string, staleBefore time.Time, from ...ImportState) (Import, error)
	FinishImport(ctx context.Context, id, runner string, state ImportState, msg string) error
	// ReleaseImport leaves a running import resumable at once (heartbeat 0).
	ReleaseImport(ctx context.Context, id, runner string) error
	// DeleteImportAssets removes up to limit assets (with tasks and links)
	// the import added and returns how many.
	DeleteImportAssets(ctx context.Context, orgID, id string, limit int) (int, error)
	// ResolveBatches maps batch names or ids of the project to batch ids;
	// refs it does not know are left out.
	ResolveBatches(ctx context.Context, orgID, projectID string, refs []string) (map[string]string, error)
}
