package labelhub

import (
	"encoding/json"
	"time"
)

// Stage is one step of a project's workflow.
type Stage struct {
	StageID string `json:"stageId"`
	Name    string `json:"name"`
}

// DefaultStages is the workflow of a project that has not set its own:
// Start → Label → Review → Complete, with stable ids.
var DefaultStages = []Stage{
	{StageID: "start", Name: "Start"},
	{StageID: "label", Name: "Label"},
	{StageID: "review", Name: "Review"},
	{StageID: "complete", Name: "Complete"},
}

// Asset is one file of a project, kept where it is (a URL in the team's
// bucket, or a public URL); the hub stores only its description.
type Asset struct {
	ID          string          `json:"id"`
	ProjectID   string          `json:"projectId"`
	ExternalID  string          `json:"externalId"`
	Type        AssetType       `json:"type"`
	Data        string          `json:"data,omitempty"`    // the URL, or inline text
	Dataset     []string        `json:"dataset,omitempty"` // page URLs of a multi-page asset
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	ContextData json.RawMessage `json:"contextData,omitempty"`
	Attachments json.RawMessage `json:"attachments,omitempty"`
	Batches     []string        `json:"batches"` // batch names
	StorageID   string          `json:"storageId,omitempty"`
	ImportID    string          `json:"importId,omitempty"`
	TaskID      string          `json:"taskId"`
	Probe       ProbeState      `json:"probe"`
	CreatedAt   time.Time       `json:"createdAt"`
}

// ProbeState tells whether the asset's metadata was read from the file.
type ProbeState struct {
	State string `json:"state"` // "none" (not needed), "pending", "done", "failed"
	Error string `json:"error,omitempty"`
}
