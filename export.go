package labelhub

import (
	"encoding/json"
	"time"
)

// Export formats.
const (
	ExportJSON   = "json"   // one JSON array
	ExportNDJSON = "ndjson" // one asset per line
)

// ExportPageSize is how many tasks an export reads per query.
const ExportPageSize = 1000

// DefaultExportURLTTL is the lifetime of the signed asset URLs of an
// export unless the caller sets urlTTL.
const DefaultExportURLTTL = time.Hour

// ExportFilter selects the tasks of a project's export. Zero fields do not
// filter; several batch ids select the assets in any of them.
type ExportFilter struct {
	BatchIDs      []string
	StageID       string
	UpdatedAfter  time.Time // updatedAt > UpdatedAfter
	UpdatedBefore time.Time // updatedAt < UpdatedBefore
}

// ExportOptions shape the objects of an export.
type ExportOptions struct {
	Format          string        // ExportJSON or ExportNDJSON
	IncludeHistory  bool          // task.stageHistory
	IncludeMetadata bool          // createdAt/updatedAt/createdBy/updatedBy (and createdIn/updatedIn) of every item
	URLTTL          time.Duration // lifetime of signed asset URLs
}

// ExportedAsset is one object of an export (formats.md §3).
type ExportedAsset struct {
	Asset       string          `json:"asset"` // a URL a downloader can use (signed for private buckets), or inline text
	AssetID     string          `json:"assetId"`
	ExternalID  string          `json:"externalId"`
	Dataset     []string        `json:"dataset,omitempty"` // page URLs of a multi-page asset
	ContextData json.RawMessage `json:"contextData,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	Batches     []string        `json:"batches"` // batch names
	Task        ExportedTask    `json:"task"`
	// StorageID is the storage integration of Asset and Dataset, which
	// the API signs before writing; it is not part of the format.
	StorageID string `json:"-"`
}

// ExportedTask is the task of an exported asset. UpdatedBy and the
// history's CompletedBy are users' emails.
type ExportedTask struct {
	TaskID    string    `json:"taskId"`
	Stage     string    `json:"stage"` // the stage's name
	StageID   string    `json:"stageId"`
	UpdatedAt time.Time `json:"updatedAt"`
	UpdatedBy string    `json:"updatedBy"` // "" until someone changed the task
	Answer
	StageHistory  []ExportedHistoryEntry `json:"stageHistory,omitzero"` // nil (left out) without includeHistory
	TotalDuration int64                  `json:"totalDuration"`         // ms
}

// ExportedHistoryEntry is one move of a task (stageHistory[]): the stage
// it left, the time spent there, who moved it and the answer then.
type ExportedHistoryEntry struct {
	Stage       string    `json:"stage"`
	StageID     string    `json:"stageId"`
	Duration    int64     `json:"duration"` // ms
	CompletedAt time.Time `json:"completedAt"`
	CompletedBy string    `json:"completedBy"` // email
	Answer
}

// WalkItemMeta calls fn with the ItemMeta of every item of a: objects,
// classification answers at any depth and relations.
func WalkItemMeta(a *Answer, fn func(m *ItemMeta)) {
	var classes func(list []ClassificationAnswer)
	classes = func(list []ClassificationAnswer) {
		for i := range list {
			fn(&list[i].ItemMeta)
			classes(list[i].Classifications)
		}
	}
	for i := range a.Tools {
		fn(&a.Tools[i].ItemMeta)
		classes(a.Tools[i].Classifications)
	}
	classes(a.Classifications)
	for i := range a.Relations {
		fn(&a.Relations[i].ItemMeta)
	}
}
