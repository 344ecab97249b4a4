package labelhub

// The task types and the store methods ListTasks, GetTask and Workflow
// (sqlstore.Store) are used by the web UI's task viewer too: keep their
// names and shapes stable.

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// Task is the work on one asset: its answer and where it is in the
// project's workflow. Lists leave out History (stageHistory).
type Task struct {
	ID              string             `json:"id"`
	ProjectID       string             `json:"projectId"`
	AssetID         string             `json:"assetId"`
	StageName       string             `json:"stage"` // the stage's name
	StageID         string             `json:"stageId"`
	StageKind       StageKind          `json:"stageKind"`
	Answer          Answer             `json:"answer"`
	Version         int64              `json:"version"`
	CreatedAt       time.Time          `json:"createdAt"`
	UpdatedAt       time.Time          `json:"updatedAt"`
	UpdatedBy       string             `json:"updatedBy"` // user id; "" until someone changed the task
	StageEnteredAt  time.Time          `json:"stageEnteredAt"`
	TotalDurationMs int64              `json:"totalDuration"` // sum of the durations of the history entries, ms
	Asset           TaskAsset          `json:"asset"`
	History         []TaskHistoryEntry `json:"stageHistory,omitzero"` // nil in lists: left out
}

// TaskAsset is the summary of a task's asset.
type TaskAsset struct {
	ID         string    `json:"id"`
	ExternalID string    `json:"externalId"`
	Type       AssetType `json:"type"`
	Data       string    `json:"data"`                // the URL as imported, or inline text
	Pages      int       `json:"pages,omitempty"`     // pages of a multi-page asset
	ContentURL string    `json:"contentUrl"`          // API path that serves the bytes (signed redirect or proxy)
	Batches    []string  `json:"batches,omitempty"`   // batch names
	StorageID  string    `json:"storageId,omitempty"` // the storage integration of Data
}

// Task actions recorded in the history.
const (
	TaskSubmit = "submit" // moved to the next stage
	TaskReject = "reject" // a review stage sent it back to the previous stage
)

// TaskHistoryEntry is one move of a task between stages (formats.md §3
// stageHistory): the stage it left, how long it was there, who moved it,
// and the answer at that moment.
type TaskHistoryEntry struct {
	Seq         int64     `json:"seq"`    // 1, 2, … per task
	Action      string    `json:"action"` // TaskSubmit or TaskReject
	StageName   string    `json:"stage"`  // the stage left
	StageID     string    `json:"stageId"`
	ToStageID   string    `json:"toStageId"`
	DurationMs  int64     `json:"duration"` // time spent in the stage, ms
	CompletedAt time.Time `json:"completedAt"`
	CompletedBy string    `json:"completedBy"` // user id
	Answer                // the answer snapshot: tools, classifications, relations
}

// TaskFilter selects a project's tasks for ListTasks. Zero fields do not
// filter. Tasks come in id order, after the id After, at most Limit
// (1..MaxPageLimit; 0 means DefaultPageLimit).
type TaskFilter struct {
	StageID       string
	BatchID       string
	UpdatedBy     string
	UpdatedAfter  time.Time // updatedAt > UpdatedAfter
	UpdatedBefore time.Time // updatedAt < UpdatedBefore
	After         string    // id cursor
	Limit         int
}

// TaskMove is a submit or a reject.
type TaskMove struct {
	Action string
	// IfMatch, when > 0, is the version the caller saw; another one is a
	// conflict.
	IfMatch int64
	// DurationMs, when not nil, is the time spent in the stage as the
	// caller measured it; else the time since the task entered it.
	DurationMs *int64
}

// MaxTaskDurationMs bounds a durationMs given on submit (one year).
const MaxTaskDurationMs = 366 * 24 * 3600 * 1000

// TaskStore keeps tasks, their answers and history, and projects'
// workflows, always inside one organisation. Writes check the actor's
// role against the kind of the task's stage (CanWork) in the same
// transaction that changes the task.
type TaskStore interface {
	ProjectWorkflow(ctx context.Context, orgID, projectID string) (Workflow, error)
	SetWorkflow(ctx context.Context, orgID, projectID string, w Workflow) (Workflow, error)
	ListTasks(ctx context.Context, orgID, projectID string, f TaskFilter) ([]Task, error)
	GetTask(ctx context.Context, orgID, taskID string) (Task, error)
	// PutAnswer replaces the answer of a task at version ifMatch (else a
	// conflict naming the current version); a must be validated already.
	PutAnswer(ctx context.Context, orgID, taskID string, actor User, ifMatch int64, a Answer) (Task, error)
	MoveTask(ctx context.Context, orgID, taskID string, actor User, m TaskMove) (Task, error)
}

// NormalizeAnswer makes the nil top-level lists of a empty, so that an
// answer always encodes as three lists.
func NormalizeAnswer(a *Answer) {
	if a.Tools == nil {
		a.Tools = []Object{}
	}
	if a.Classifications == nil {
		a.Classifications = []ClassificationAnswer{}
	}
	if a.Relations == nil {
		a.Relations = []Relation{}
	}
}

// itemKey names an item across two versions of an answer.
type itemKey struct {
	kind byte // 'o' object, 'c' classification answer, 'r' relation
	id   string
}

type itemWas struct {
	sum  []byte // the item's JSON without ItemMeta and nested answers
	meta ItemMeta
}

// MergeItemMeta sets the ItemMeta of every item of next (objects,
// classification answers at any depth, relations), overwriting what the
// caller sent: an item whose objectId was in prev (as the same kind of
// item) keeps its created* fields and keeps its updated* fields too when
// its own content (not counting nested classification answers, which have
// their own metadata) is unchanged; a changed item gets updated* = (at,
// user, stage); a new one gets both. stage is the name of the task's
// stage. next must be validated (every item has an objectId).
func MergeItemMeta(prev Answer, next *Answer, user, stage string, at time.Time) {
	was := map[itemKey]itemWas{}
	var walkClasses func(list []ClassificationAnswer)
	walkClasses = func(list []ClassificationAnswer) {
		for i := range list {
			c := &list[i]
			if c.ObjectID != "" {
				was[itemKey{'c', c.ObjectID}] = itemWas{classSum(c), c.ItemMeta}
			}
			walkClasses(c.Classifications)
		}
	}
	for i := range prev.Tools {
		o := &prev.Tools[i]
		if o.ObjectID != "" {
			was[itemKey{'o', o.ObjectID}] = itemWas{objectSum(o), o.ItemMeta}
		}
		walkClasses(o.Classifications)
	}
	walkClasses(prev.Classifications)
	for i := range prev.Relations {
		r := &prev.Relations[i]
		if r.ObjectID != "" {
			was[itemKey{'r', r.ObjectID}] = itemWas{relationSum(r), r.ItemMeta}
		}
	}
	stamp := func(k itemKey, sum func() []byte, m *ItemMeta) {
		w, ok := was[k]
		if !ok || k.id == "" {
			*m = ItemMeta{CreatedAt: at, UpdatedAt: at, CreatedBy: user, UpdatedBy: user, CreatedIn: stage, UpdatedIn: stage}
			return
		}
		*m = w.meta
		if !bytes.Equal(w.sum, sum()) {
			m.UpdatedAt, m.UpdatedBy, m.UpdatedIn = at, user, stage
		}
	}
	var setClasses func(list []ClassificationAnswer)
	setClasses = func(list []ClassificationAnswer) {
		for i := range list {
			c := &list[i]
			stamp(itemKey{'c', c.ObjectID}, func() []byte { return classSum(c) }, &c.ItemMeta)
			setClasses(c.Classifications)
		}
	}
	for i := range next.Tools {
		o := &next.Tools[i]
		stamp(itemKey{'o', o.ObjectID}, func() []byte { return objectSum(o) }, &o.ItemMeta)
		setClasses(o.Classifications)
	}
	setClasses(next.Classifications)
	for i := range next.Relations {
		r := &next.Relations[i]
		stamp(itemKey{'r', r.ObjectID}, func() []byte { return relationSum(r) }, &r.ItemMeta)
	}
}

func objectSum(o *Object) []byte {
	c := *o
	c.ItemMeta, c.Classifications = ItemMeta{}, nil
	b, _ := json.Marshal(c)
	return b
}

func classSum(a *ClassificationAnswer) []byte {
	c := *a
	c.ItemMeta, c.Classifications = ItemMeta{}, nil
	// The answer as compact JSON, so that spacing is no change.
	var buf bytes.Buffer
	if json.Compact(&buf, c.Answer) == nil {
		c.Answer = buf.Bytes()
	}
	b, _ := json.Marshal(c)
	return b
}

func relationSum(r *Relation) []byte {
	c := *r
	c.ItemMeta = ItemMeta{}
	b, _ := json.Marshal(c)
	return b
}
