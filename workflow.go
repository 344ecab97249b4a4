package labelhub

import (
	"fmt"
	"regexp"
	"strings"
)

// StageKind says what happens in a workflow stage and who may work there.
type StageKind string

// The stage kinds. A workflow starts with one start stage and ends with
// one done stage; between them are label and review stages.
const (
	StageStart  StageKind = "start"  // where tasks are created; labelers may annotate and submit
	StageLabel  StageKind = "label"  // labelers annotate and submit
	StageReview StageKind = "review" // reviewers correct, submit (accept) or reject (back to the previous stage)
	StageDone   StageKind = "done"   // finished work; nothing is submitted from here
)

// WorkflowStage is one stage of a workflow with its kind.
type WorkflowStage struct {
	StageID string    `json:"stageId"`
	Name    string    `json:"name"`
	Kind    StageKind `json:"kind"`
}

// Workflow is a project's ordered list of stages (formats.md §3 names a
// task's stage and stageId from it). It is stored as the JSON array of
// its stages in projects.workflow; "" there means DefaultWorkflow.
type Workflow struct {
	Stages []WorkflowStage `json:"stages"`
}

// Workflow limits.
const (
	MaxStages         = 50
	MaxStageIDLength  = 64
	MinWorkflowStages = 2
)

var stageIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// DefaultWorkflow is the workflow of DefaultStages: Start (start), Label
// (label), Review (review), Complete (done).
func DefaultWorkflow() Workflow {
	kinds := []StageKind{StageStart, StageLabel, StageReview, StageDone}
	w := Workflow{Stages: make([]WorkflowStage, len(DefaultStages))}
	for i, s := range DefaultStages {
		w.Stages[i] = WorkflowStage{StageID: s.StageID, Name: s.Name, Kind: kinds[i]}
	}
	return w
}

// Plain returns the stages without their kinds.
func (w Workflow) Plain() []Stage {
	out := make([]Stage, len(w.Stages))
	for i, s := range w.Stages {
		out[i] = Stage{StageID: s.StageID, Name: s.Name}
	}
	return out
}

// Index returns the position of the stage with id, or -1.
func (w Workflow) Index(stageID string) int {
	for i, s := range w.Stages {
		if s.StageID == stageID {
			return i
		}
	}
	return -1
}

// Validate checks the workflow and normalises it in place: a missing kind
// is start for the first stage, done for the last and label otherwise; a
// missing stageId is generated. The rules: 2 to MaxStages stages; the
// first is the only start stage and the last the only done stage; names
// are required, at most MaxNameLength bytes and unique (ignoring case);
// stageIds are letters, digits, '-' and '_', at most MaxStageIDLength, and
// unique. Problems name the path ("stages[2].name"). Nothing is changed
// when there are problems.
func (w *Workflow) Validate() error {
	var p Problems
	n := len(w.Stages)
	switch {
	case n < MinWorkflowStages:
		p.Add("stages", "needs at least %d stages: a start stage first and a done stage last", MinWorkflowStages)
	case n > MaxStages:
		p.Add("stages", "has %d stages; at most %d are allowed", n, MaxStages)
	}
	if len(p) > 0 {
		return p.Err("invalid workflow")
	}
	kinds := make([]StageKind, n)
	names := map[string]int{}
	ids := map[string]int{}
	for i, s := range w.Stages {
		at := fmt.Sprintf("stages[%d]", i)
		validName(&p, at+".name", &s.Name)
		if s.Name != "" {
			key := strings.ToLower(strings.TrimSpace(s.Name))
			if j, dup := names[key]; dup {
				p.Add(at+".name", "repeats the name of stages[%d]; stage names must be unique", j)
			} else {
				names[key] = i
			}
		}
		if s.StageID != "" {
			switch {
			case len(s.StageID) > MaxStageIDLength || !stageIDRE.MatchString(s.StageID):
				p.Add(at+".stageId", "must be 1 to %d letters, digits, '-' or '_', starting with a letter or digit", MaxStageIDLength)
			default:
				if j, dup := ids[s.StageID]; dup {
					p.Add(at+".stageId", "repeats the stageId of stages[%d]", j)
				} else {
					ids[s.StageID] = i
				}
			}
		}
		k := s.Kind
		if k == "" {
			switch i {
			case 0:
				k = StageStart
			case n - 1:
				k = StageDone
			default:
				k = StageLabel
			}
		}
		kinds[i] = k
		switch {
		case k != StageStart && k != StageLabel && k != StageReview && k != StageDone:
			p.Add(at+".kind", "must be one of start, label, review, done")
		case i == 0 && k != StageStart:
			p.Add(at+".kind", "must be start: the first stage is where tasks begin")
		case i == n-1 && k != StageDone:
			p.Add(at+".kind", "must be done: the last stage is where finished tasks are")
		case i > 0 && k == StageStart:
			p.Add(at+".kind", "may not be start: only the first stage is")
		case i < n-1 && k == StageDone:
			p.Add(at+".kind", "may not be done: only the last stage is")
		}
	}
	if err := p.Err("invalid workflow"); err != nil {
		return err
	}
	for i := range w.Stages {
		w.Stages[i].Kind = kinds[i]
		if w.Stages[i].StageID == "" {
			w.Stages[i].StageID = strings.ToLower(NewID())
		}
	}
	return nil
}

// CanWork reports whether a role may write answers and submit in a stage
// of the kind: labelers in start and label stages, reviewers in review
// stages (and labelling ones), project managers and admins anywhere but in
// the done stage, where nothing is submitted (they may still correct its
// answers).
func CanWork(r Role, k StageKind) bool {
	switch k {
	case StageStart, StageLabel:
		return r.Can(PermLabel)
	case StageReview:
		return r.Can(PermReview)
	case StageDone:
		return r.Can(PermManageProjects)
	}
	return false
}
