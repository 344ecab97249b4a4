package labelhub

import (
	"context"
	"encoding/json"
	"time"
)

// PluginType says what a plugin does and so what it receives (formats.md §4).
type PluginType string

// Plugin types. Model types are reserved for later.
const (
	PluginExport       PluginType = "export"
	PluginFileExplorer PluginType = "file-explorer"
	PluginModel        PluginType = "model"
	PluginBatchModel   PluginType = "batch-model"
	PluginMarkdown     PluginType = "markdown"
)

// PluginTypes lists the types a plugin may be created with.
var PluginTypes = []PluginType{PluginExport, PluginFileExplorer, PluginModel, PluginBatchModel, PluginMarkdown}

// Valid reports whether t is one of PluginTypes.
func (t PluginType) Valid() bool {
	for _, x := range PluginTypes {
		if t == x {
			return true
		}
	}
	return false
}

// Plugin is a registered plugin. Its secret is shown once, at creation and
// at rotation; only its hash is kept.
type Plugin struct {
	ID            string     `json:"id"`
	OrgID         string     `json:"orgId"`
	Name          string     `json:"name"`
	Type          PluginType `json:"type"`
	Description   string     `json:"description"`
	DefaultConfig string     `json:"defaultConfig"` // Config JSON text
	// Builtin is the name of a first-party plugin (package firstparty):
	// one plugin for the whole server, visible to every organisation and
	// changed by none. Empty for the plugins an organisation registered.
	Builtin   string    `json:"builtin,omitempty"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// BuiltinRefusal is the error of changing (action: "changed", "deleted",
// …) a first-party plugin, or nil for a plugin of an organisation.
func (p Plugin) BuiltinRefusal(action string) error {
	if p.Builtin == "" {
		return nil
	}
	return Errorf(ECodeForbidden, "%q is a built-in plugin; it cannot be %s. To customise it, register your own plugin "+
		"(labelhub plugin create) and run it with `labelhub plugin serve %s`", p.Name, action, p.Builtin)
}

// PluginInput is the writable part of a plugin; on update nil fields stay.
type PluginInput struct {
	Name          *string     `json:"name"`
	Type          *PluginType `json:"type"`
	Description   *string     `json:"description"`
	DefaultConfig *string     `json:"defaultConfig"`
}

// Limits on plugins and runs.
const (
	MaxConfigJSONBytes = 256 << 10
	MaxRunParamsBytes  = 256 << 10
)

// Validate checks the input; creating requires a name and a type. The type
// cannot change after creation.
func (in *PluginInput) Validate(creating bool) error {
	var p Problems
	if in.Name != nil || creating {
		validName(&p, "name", in.Name)
	}
	switch {
	case creating && in.Type == nil:
		p.Add("type", "is required: one of export, file-explorer, model, batch-model, markdown")
	case !creating && in.Type != nil:
		p.Add("type", "cannot change; create another plugin")
	case in.Type != nil && !in.Type.Valid():
		p.Add("type", "must be one of export, file-explorer, model, batch-model, markdown")
	}
	if in.Description != nil && len(*in.Description) > MaxDescriptionLength {
		p.Add("description", "is longer than %d bytes", MaxDescriptionLength)
	}
	if in.DefaultConfig != nil {
		validConfig(&p, "defaultConfig", *in.DefaultConfig)
	}
	return p.Err("invalid plugin")
}

// validConfig checks a Config JSON text: empty, or a JSON value within
// MaxConfigJSONBytes.
func validConfig(p *Problems, path, c string) {
	switch {
	case len(c) > MaxConfigJSONBytes:
		p.Add(path, "is longer than %d bytes", MaxConfigJSONBytes)
	case c != "" && !json.Valid([]byte(c)):
		p.Add(path, "is not valid JSON")
	}
}

// PluginInstance is one connected plugin process.
type PluginInstance struct {
	ID          string    `json:"id"`
	PluginID    string    `json:"pluginId"`
	ReplicaID   string    `json:"replicaId"`
	Host        string    `json:"host"`
	SDKVersion  string    `json:"sdkVersion"`
	Concurrency int       `json:"concurrency"`
	ConnectedAt time.Time `json:"connectedAt"`
	LastSeen    time.Time `json:"lastSeen"`
}

// Preset is a named Config JSON for one plugin in one project.
type Preset struct {
	ID         string    `json:"id"`
	ProjectID  string    `json:"projectId"`
	PluginID   string    `json:"pluginId"`
	Name       string    `json:"name"`
	ConfigJSON string    `json:"configJSON"`
	CreatedBy  string    `json:"createdBy"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// RunState is where a plugin run is in its life.
type RunState string

// Run states. The last four are final.
const (
	RunQueued    RunState = "queued"
	RunRunning   RunState = "running"
	RunSucceeded RunState = "succeeded"
	RunFailed    RunState = "failed"
	RunCancelled RunState = "cancelled"
	RunTimedOut  RunState = "timed_out"
)

// Final reports whether the run has ended.
func (s RunState) Final() bool {
	return s == RunSucceeded || s == RunFailed || s == RunCancelled || s == RunTimedOut
}

// RunProgress is what a plugin last reported.
type RunProgress struct {
	Done    int64  `json:"done"`
	Total   int64  `json:"total"`
	Message string `json:"message"`
}

// Run is one execution of a plugin (a "session").
type Run struct {
	ID              string          `json:"id"`
	OrgID           string          `json:"orgId"`
	PluginID        string          `json:"pluginId"`
	ProjectID       string          `json:"projectId"`
	State           RunState        `json:"state"`
	ConfigJSON      string          `json:"configJSON"`
	Params          json.RawMessage `json:"params"`
	Attempts        int             `json:"attempts"`
	Progress        RunProgress     `json:"progress"`
	Result          json.RawMessage `json:"result"`
	Error           string          `json:"error,omitempty"`
	RunBy           string          `json:"runBy"`
	InstanceID      string          `json:"instanceId,omitempty"`
	CancelRequested bool            `json:"cancelRequested"`
	CreatedAt       time.Time       `json:"createdAt"`
	StartedAt       *time.Time      `json:"startedAt"`
	FinishedAt      *time.Time      `json:"finishedAt"`
	UpdatedAt       time.Time       `json:"updatedAt"`
	Deadline        time.Time       `json:"deadline"` // queued: until an instance must take it; running: until it must end
	// Artifact is the run's result file, if it uploaded one; filled on a
	// single run's read, not in lists.
	Artifact *RunArtifact `json:"artifact,omitempty"`
}

// RunInput is what starting a run takes.
type RunInput struct {
	ProjectID  string          `json:"projectId"`
	ConfigJSON *string         `json:"configJSON"` // nil: the plugin's default config
	Params     json.RawMessage `json:"params"`
}

// Validate checks the input.
func (in *RunInput) Validate() error {
	var p Problems
	if !ValidID(in.ProjectID) {
		p.Add("projectId", "is required: the id of a project")
	}
	if in.ConfigJSON != nil {
		validConfig(&p, "configJSON", *in.ConfigJSON)
	}
	if len(in.Params) > 0 && string(in.Params) != "null" {
		var obj map[string]json.RawMessage
		if len(in.Params) > MaxRunParamsBytes {
			p.Add("params", "is longer than %d bytes", MaxRunParamsBytes)
		} else if json.Unmarshal(in.Params, &obj) != nil {
			p.Add("params", "must be a JSON object")
		}
	}
	return p.Err("invalid run")
}

// RunLog is one log record of a run.
type RunLog struct {
	Seq     int64           `json:"seq"`
	Time    time.Time       `json:"time"`
	Level   string          `json:"level"`
	Message string          `json:"message"`
	Attrs   json.RawMessage `json:"attrs,omitempty"`
}

// RunScope limits an actor to one run's project: the actor of a run token.
type RunScope struct {
	RunID      string
	ProjectID  string
	PluginType PluginType
	// IntegrationID is a file-explorer run's params.integrationId: the one
	// storage integration its token may list.
	IntegrationID string
}

// PluginStore keeps plugins, presets, instances, runs and run logs. Methods
// taking orgID are the API's; the others serve the hub, which works across
// organisations.
type PluginStore interface {
	// CreatePlugin returns the plugin and its secret, once.
	CreatePlugin(ctx context.Context, orgID, userID string, in PluginInput) (Plugin, string, error)
	GetPlugin(ctx context.Context, orgID, id string) (Plugin, error)
	ListPlugins(ctx context.Context, orgID string, p PageRequest) (Page[Plugin], error)
	UpdatePlugin(ctx context.Context, orgID, id string, in PluginInput) (Plugin, error)
	DeletePlugin(ctx context.Context, orgID, id string) error
	// RotatePluginSecret replaces the secret and returns the new one.
	RotatePluginSecret(ctx context.Context, orgID, id string) (string, error)
	// AuthenticatePlugin checks a plugin's id and secret; wrong ones give
	// ECodeUnauthorized.
	AuthenticatePlugin(ctx context.Context, id, secret string) (Plugin, error)

	// SavePreset creates or replaces the preset of that name.
	SavePreset(ctx context.Context, orgID, userID string, pr Preset) (Preset, error)
	ListPresets(ctx context.Context, orgID, projectID, pluginID string, p PageRequest) (Page[Preset], error)
	DeletePreset(ctx context.Context, orgID, id string) error

	RegisterInstance(ctx context.Context, in PluginInstance) error
	TouchInstances(ctx context.Context, ids []string, at time.Time) error
	DeleteInstance(ctx context.Context, id string) error
	ListInstances(ctx context.Context, pluginID string) ([]PluginInstance, error)

	// CreateRun stores a new queued run with the hash of its token.
	CreateRun(ctx context.Context, r Run, token string) error
	GetRun(ctx context.Context, orgID, id string) (Run, error)
	ListRuns(ctx context.Context, orgID, projectID string, p PageRequest) (Page[Run], error)
	// RunByToken resolves a run token of a queued or running run.
	RunByToken(ctx context.Context, token string) (Run, error)
	// ClaimRun moves a queued run to running on an instance; false when
	// the run was not queued any more (another replica took it).
	ClaimRun(ctx context.Context, id, instanceID string, deadline time.Time) (Run, bool, error)
	// RequeueRun puts a running run of instanceID back in the queue.
	RequeueRun(ctx context.Context, id, instanceID string, queueDeadline time.Time) (bool, error)
	// FinishRun ends a run that is not final yet; with instanceID set only
	// if that instance holds it. False when nothing changed.
	FinishRun(ctx context.Context, id, instanceID string, state RunState, result json.RawMessage, errText string) (bool, error)
	SetRunProgress(ctx context.Context, id, instanceID string, pr RunProgress) error
	// RequestCancel asks for a run to end: a queued run is cancelled at
	// once, a running one is marked for its replica to act on.
	RequestCancel(ctx context.Context, orgID, id string) (Run, error)
	// QueuedRuns lists queued runs of the given plugins, oldest first.
	QueuedRuns(ctx context.Context, pluginIDs []string, limit int) ([]Run, error)
	// CancelRequested returns which of ids are running and marked for cancel.
	CancelRequested(ctx context.Context, ids []string) ([]string, error)
	// ExpireRuns ends queued and running runs past their deadline as
	// timed_out and returns them.
	ExpireRuns(ctx context.Context, at time.Time) ([]Run, error)
	// RecoverRuns deletes instances not seen since staleBefore and puts the
	// running runs held by no live instance back in the queue, or fails
	// them after maxAttempts.
	RecoverRuns(ctx context.Context, staleBefore time.Time, maxAttempts int, queueDeadline time.Time) (int, error)

	// AppendRunLogs stores records; Seq must be set and increasing.
	AppendRunLogs(ctx context.Context, runID string, logs []RunLog) error
	LastRunLogSeq(ctx context.Context, runID string) (int64, error)
	ListRunLogs(ctx context.Context, orgID, runID string, afterSeq int64, limit int) ([]RunLog, error)
}

// RunArtifact is a run's result file (an export's zip), uploaded by the
// plugin over HTTP with its run token and kept in the artifact store until
// ExpiresAt. A run has at most one; a second upload replaces it.
type RunArtifact struct {
	RunID       string    `json:"runId"`
	OrgID       string    `json:"-"`
	Name        string    `json:"name"`
	Size        int64     `json:"size"`
	ContentType string    `json:"contentType"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	// Expired is set once the sweeper has deleted the bytes.
	Expired bool `json:"expired"`
	// Key is where the bytes are in the artifact store.
	Key string `json:"-"`
}

// RunArtifactStore keeps the records of run artifacts; the bytes live in
// the artifact store (package artifacts).
type RunArtifactStore interface {
	// SetRunArtifact records a as its run's artifact while the run is
	// running (else ECodeConflict), and returns the record it replaced
	// (replaced false when there was none) so that its bytes can go.
	SetRunArtifact(ctx context.Context, a RunArtifact) (prev RunArtifact, replaced bool, err error)
	GetRunArtifact(ctx context.Context, orgID, runID string) (RunArtifact, error)
	// ExpiredRunArtifacts lists artifacts past ExpiresAt at `at` that are
	// not marked expired yet, oldest first.
	ExpiredRunArtifacts(ctx context.Context, at time.Time, limit int) ([]RunArtifact, error)
	// MarkRunArtifactExpired marks the artifact expired if it still has key.
	MarkRunArtifactExpired(ctx context.Context, runID, key string) error
}
