package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/labelhub/labelhub"
)

// The Sessions pages: a project's runs and one run, whose page follows
// the log live (server-sent events from GET /api/v1/runs/{runId}/logs,
// which takes the session cookie) and polls the run's state.

// indentJSON writes text indented by two spaces.
func indentJSON(w io.Writer, text string) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(text), "", "  "); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// runRow is a run with what its table row and page show.
type runRow struct {
	labelhub.Run
	PluginName string
	By         string // the name or email of who started it
}

// Percent is the progress in percent, -1 when the plugin reported no total.
func (r runRow) Percent() int64 {
	if r.Progress.Total <= 0 {
		return -1
	}
	return min(100, max(0, r.Progress.Done*100/r.Progress.Total))
}

// Duration is how long the run ran (so far), "" before it started.
func (r runRow) Duration() string {
	if r.StartedAt == nil {
		return ""
	}
	end := time.Now()
	if r.FinishedAt != nil {
		end = *r.FinishedAt
	}
	return clock(end.Sub(*r.StartedAt))
}

// clock formats a duration as 4s, 2m 05s or 1h 02m.
func clock(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	switch h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60; {
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	default:
		return fmt.Sprintf("%ds", s)
	}
}

// runNames fills in the plugin and user names of runs, reading each once.
type runNames struct {
	s       *server
	ctx     context.Context
	orgID   string
	plugins map[string]string
	users   map[string]string
}

func (s *server) names(ctx context.Context, c *reqCtx) *runNames {
	return &runNames{s: s, ctx: ctx, orgID: c.actor.Org.ID, plugins: map[string]string{}, users: map[string]string{}}
}

func (n *runNames) row(r labelhub.Run) runRow {
	row := runRow{Run: r}
	name, ok := n.plugins[r.PluginID]
	if !ok {
		name = r.PluginID
		if st, err := n.s.pluginStore(); err == nil {
			if p, err := st.GetPlugin(n.ctx, n.orgID, r.PluginID); err == nil {
				name = p.Name
			}
		}
		n.plugins[r.PluginID] = name
	}
	row.PluginName = name
	by, ok := n.users[r.RunBy]
	if !ok {
		by = r.RunBy
		if u, err := n.s.cfg.Store.GetUser(n.ctx, n.orgID, r.RunBy); err == nil {
			by = u.Email
			if u.Name != "" {
				by = u.Name
			}
		}
		n.users[r.RunBy] = by
	}
	row.By = by
	return row
}

type runsView struct {
	Project    labelhub.Project
	Tab        string
	Runs       []runRow
	NextCursor string
	Paged      bool
}

func (s *server) runsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	proj, err := s.loadProject(r, c)
	if err != nil {
		return err
	}
	st, err := s.pluginStore()
	if err != nil {
		return err
	}
	cursor := r.URL.Query().Get("cursor")
	page, err := st.ListRuns(r.Context(), c.actor.Org.ID, proj.ID, labelhub.PageRequest{Limit: pageSize, Cursor: cursor})
	if err != nil {
		return err
	}
	n := s.names(r.Context(), c)
	rows := make([]runRow, len(page.Items))
	for i, run := range page.Items {
		rows[i] = n.row(run)
	}
	s.render(w, r, http.StatusOK, "runs", c, "Sessions · "+proj.Name, "projects", runsView{
		Project: proj, Tab: "runs", Runs: rows, NextCursor: page.NextCursor, Paged: cursor != "",
	})
	return nil
}

// maxLogShown is how much of the log the run page renders; the live
// console continues after it.
const maxLogShown = 1000

type runView struct {
	Run       runRow
	Project   labelhub.Project
	Logs      []labelhub.RunLog
	LastSeq   int64
	MoreLogs  bool // the log is longer than what is shown
	Config    string
	Result    string
	Artifact  *labelhub.RunArtifact // the run's result file, if any
	CanCancel bool
	Explorer  *explorerSummary // set for File Explorer imports
}

// loadRun reads the run named in the path; another organisation's run,
// or no id at all, is not found.
func (s *server) loadRun(r *http.Request, c *reqCtx) (labelhub.Run, labelhub.PluginStore, error) {
	st, err := s.pluginStore()
	if err != nil {
		return labelhub.Run{}, nil, err
	}
	id := r.PathValue("runId")
	if !labelhub.ValidID(id) {
		return labelhub.Run{}, nil, labelhub.NotFound("run")
	}
	run, err := st.GetRun(r.Context(), c.actor.Org.ID, id)
	if err == nil && !c.actor.InProject(run.ProjectID) {
		err = labelhub.NotFound("run")
	}
	return run, st, err
}

func (s *server) runPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	run, st, err := s.loadRun(r, c)
	if err != nil {
		return err
	}
	proj, err := s.cfg.Store.GetProject(r.Context(), c.actor.Org.ID, run.ProjectID)
	if err != nil {
		return err
	}
	logs, err := st.ListRunLogs(r.Context(), c.actor.Org.ID, run.ID, 0, maxLogShown)
	if err != nil {
		return err
	}
	v := runView{Run: s.names(r.Context(), c).row(run), Project: proj, Logs: logs, MoreLogs: len(logs) == maxLogShown,
		Config: prettyConfig(run.ConfigJSON), CanCancel: c.can(labelhub.PermRunPlugins) && !run.State.Final()}
	if len(logs) > 0 {
		v.LastSeq = logs[len(logs)-1].Seq
	}
	if len(run.Result) > 0 && string(run.Result) != "null" {
		v.Result = prettyConfig(string(run.Result))
	}
	v.Explorer = s.fileExplorerSummary(r.Context(), c, run)
	if as, ok := st.(labelhub.RunArtifactStore); ok {
		if art, err := as.GetRunArtifact(r.Context(), c.actor.Org.ID, run.ID); err == nil {
			v.Artifact = &art
		}
	}
	s.render(w, r, http.StatusOK, "run", c, "Session of "+v.Run.PluginName, "projects", v)
	return nil
}

func (s *server) cancelRun(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	run, _, err := s.loadRun(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermRunPlugins) {
		return forbidden(c, "cancel runs")
	}
	if !run.State.Final() {
		if _, err := s.cfg.Plugins.Cancel(r.Context(), c.actor.Org.ID, run.ID); err != nil {
			return err
		}
	}
	s.redirectWithFlash(w, r, "/runs/"+run.ID, "run-cancel-requested")
	return nil
}
