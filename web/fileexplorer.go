package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/plugin"
)

// The File Explorer dialog: a project's File Explorer plugin browses a
// storage integration's bucket one folder level at a time (each page is a
// listing run of the plugin, waited for) and imports a folder or a
// selection of files (an import run, followed on its session page). The
// dialog drives whichever File Explorer plugin was opened, so custom ones
// work the same as the first-party one.

func init() {
	pageNames = append(pageNames, "fileexplorer")
}

func (s *server) routesFileExplorer() {
	m := s.mux
	m.HandleFunc("GET /projects/{projectId}/plugins/{pluginId}/files", s.page(s.fileExplorerPage))
	m.HandleFunc("POST /projects/{projectId}/plugins/{pluginId}/import", s.page(s.startExplorerImport))
}

// listingWait bounds how long the dialog waits for a listing run; a run
// still unfinished then is cancelled and the dialog says so.
const listingWait = 30 * time.Second

// maxIntegrationsShown bounds the integration select.
const maxIntegrationsShown = 1000

// explorerParams are the params of a File Explorer run (formats.md §4).
type explorerParams struct {
	IntegrationID string   `json:"integrationId"`
	Bucket        string   `json:"bucket"`
	Folder        string   `json:"folder"`
	ScrollToken   string   `json:"scrollToken,omitempty"`
	Upload        bool     `json:"upload"`
	Recursive     bool     `json:"recursive,omitempty"`
	Files         []string `json:"files,omitempty"`
	Batches       []string `json:"batches,omitempty"`
}

// explorerForm is the import form as typed.
type explorerForm struct {
	Files     map[string]bool
	Batches   map[string]bool
	NewBatch  string
	Recursive bool
	Err       *formErr
}

type explorerView struct {
	Project      labelhub.Project
	Tab          string
	Plugin       pluginRow
	Integrations []labelhub.Storage
	Integration  *labelhub.Storage // the chosen one
	Bucket       string
	Folder       string
	Crumbs       []crumb
	Items        []objectRow
	Detailed     bool // the plugin described its files (size, type)
	NextToken    string
	MoreBase     string
	Paged        bool
	Listed       bool // a listing ran and answered
	Err          string
	ErrRun       string // the failed listing run, for its log
	Batches      []labelhub.Batch
	CanRun       bool
	Form         explorerForm
}

// explorerQuery is the dialog's location: integration, folder, page.
type explorerQuery struct {
	Integration, Folder, ScrollToken string
}

func (s *server) fileExplorerPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	return s.showExplorer(w, r, c, http.StatusOK, explorerQuery{Integration: q.Get("integration"), Folder: q.Get("folder"),
		ScrollToken: q.Get("scrollToken")}, explorerForm{})
}

// explorerScope loads the project and the File Explorer plugin of the path.
func (s *server) explorerScope(r *http.Request, c *reqCtx) (labelhub.Project, labelhub.Plugin, error) {
	proj, err := s.loadProject(r, c)
	if err != nil {
		return labelhub.Project{}, labelhub.Plugin{}, err
	}
	p, _, err := s.loadPlugin(r, c)
	if err != nil {
		return labelhub.Project{}, labelhub.Plugin{}, err
	}
	if p.Type != labelhub.PluginFileExplorer {
		return labelhub.Project{}, labelhub.Plugin{}, labelhub.Errorf(labelhub.ECodeNotFound,
			"%s is a plugin of type %s, not a File Explorer.", p.Name, p.Type)
	}
	return proj, p, nil
}

// integration reads a storage integration of the actor's organisation;
// another organisation's id, or a malformed one, is not found.
func (s *server) integration(ctx context.Context, c *reqCtx, id string) (labelhub.Storage, error) {
	if s.cfg.Storage == nil {
		return labelhub.Storage{}, errNoStorage
	}
	if !labelhub.ValidID(id) {
		return labelhub.Storage{}, labelhub.NotFound("storage integration")
	}
	return s.cfg.Storage.Get(ctx, c.actor.Org.ID, id)
}

func (s *server) showExplorer(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, q explorerQuery, form explorerForm) error {
	proj, p, err := s.explorerScope(r, c)
	if err != nil {
		return err
	}
	st, _ := s.pluginStore()
	rows, err := s.withInstances(r.Context(), st, []labelhub.Plugin{p})
	if err != nil {
		return err
	}
	v := explorerView{Project: proj, Tab: "plugins", Plugin: rows[0], CanRun: c.can(labelhub.PermRunPlugins), Form: form,
		Paged: q.ScrollToken != ""}
	if s.cfg.Storage != nil {
		for cursor := ""; len(v.Integrations) < maxIntegrationsShown; {
			page, err := s.cfg.Storage.List(r.Context(), c.actor.Org.ID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit, Cursor: cursor})
			if err != nil {
				return err
			}
			v.Integrations = append(v.Integrations, page.Items...)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
	}
	if q.Integration == "" && len(v.Integrations) == 1 {
		q.Integration = v.Integrations[0].ID
	}
	if q.Integration == "" {
		s.renderExplorer(w, r, c, status, v)
		return nil
	}
	ig, err := s.integration(r.Context(), c, q.Integration)
	if err != nil {
		return err
	}
	v.Integration, v.Bucket = &ig, ig.Bucket
	if v.Batches, err = s.allBatches(r.Context(), c, proj.ID); err != nil {
		return err
	}
	folder, ferr := explorerFolder(q.Folder)
	v.Folder = folder
	base := "/projects/" + proj.ID + "/plugins/" + p.ID + "/files?integration=" + url.QueryEscape(ig.ID) + "&folder="
	v.Crumbs = folderCrumbs(ig.Bucket, folder, func(prefix string) string { return base + url.QueryEscape(prefix) })
	v.MoreBase = base + url.QueryEscape(folder) + "&scrollToken="
	switch {
	case ferr != nil:
		v.Err = ferr.Error()
		status = http.StatusBadRequest
	case !v.CanRun:
		// Listing is a run of the plugin: the role must allow runs.
	case !v.Plugin.Online():
		v.Err = p.Name + " is offline: no process of the plugin is connected, so the folder cannot be listed. " +
			"Start the plugin, then reload this page."
		status = http.StatusServiceUnavailable
	default:
		res, run, err := s.listFolder(r.Context(), c, proj, p, explorerParams{IntegrationID: ig.ID, Bucket: ig.Bucket,
			Folder: folder, ScrollToken: q.ScrollToken})
		if err != nil {
			var e *labelhub.Error
			if !errors.As(err, &e) || e.Code != labelhub.ECodeUnavailable {
				return err
			}
			v.Err, v.ErrRun, status = e.Message, run.ID, http.StatusBadGateway
			break
		}
		v.Listed = true
		v.Items, v.Detailed = explorerRows(folder, res)
		if res.ScrollToken != nil {
			v.NextToken = *res.ScrollToken
		}
	}
	s.renderExplorer(w, r, c, status, v)
	return nil
}

func (s *server) renderExplorer(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, v explorerView) {
	s.render(w, r, status, "fileexplorer", c, "Import with "+v.Plugin.Name, "projects", v)
}

// explorerFolder checks a folder as typed into the location: "" is the
// bucket's root; others end in "/".
func explorerFolder(f string) (string, error) {
	if f == "" {
		return "", nil
	}
	if !strings.HasSuffix(f, "/") {
		f += "/"
	}
	switch {
	case strings.HasPrefix(f, "/"):
		return "", errors.New(`The folder "` + f + `" starts with "/": folders are relative to the bucket's root.`)
	case strings.Contains("/"+f, "/../") || strings.Contains("/"+f, "/./"):
		return "", errors.New(`The folder "` + f + `" has a "." or ".." segment: name the folder itself.`)
	case strings.ContainsFunc(f, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", errors.New("The folder has control characters.")
	}
	return f, nil
}

// listFolder runs the plugin's listing and waits for its answer. A run
// that fails gives its error (an ECodeUnavailable *labelhub.Error) and
// the run, whose log says more.
func (s *server) listFolder(ctx context.Context, c *reqCtx, proj labelhub.Project, p labelhub.Plugin, params explorerParams) (plugin.FileExplorerResult, labelhub.Run, error) {
	var res plugin.FileExplorerResult
	raw, err := json.Marshal(params)
	if err != nil {
		return res, labelhub.Run{}, err
	}
	run, err := s.cfg.Plugins.CreateRun(ctx, c.actor, p.ID, labelhub.RunInput{ProjectID: proj.ID, Params: raw})
	if err != nil {
		return res, run, err
	}
	wctx, cancel := context.WithTimeout(ctx, listingWait)
	run, err = s.cfg.Plugins.Wait(wctx, c.actor.Org.ID, run.ID)
	cancel()
	if err != nil {
		return res, run, err
	}
	switch run.State {
	case labelhub.RunSucceeded:
	case labelhub.RunFailed, labelhub.RunTimedOut, labelhub.RunCancelled:
		msg := strings.TrimSpace(run.Error)
		if msg == "" {
			msg = "the run ended " + string(run.State)
		}
		return res, run, labelhub.Errorf(labelhub.ECodeUnavailable, "%s could not list the folder: %s", p.Name, msg)
	default:
		_, _ = s.cfg.Plugins.Cancel(context.WithoutCancel(ctx), c.actor.Org.ID, run.ID)
		return res, run, labelhub.Errorf(labelhub.ECodeUnavailable, "%s did not answer within %s; the listing was cancelled. Is the plugin busy or stuck?",
			p.Name, humanDuration(listingWait))
	}
	if err := json.Unmarshal(run.Result, &res); err != nil {
		return res, run, labelhub.Errorf(labelhub.ECodeUnavailable, "%s answered something that is not a folder listing: %v", p.Name, err)
	}
	return res, run, nil
}

// explorerRows turns a listing into table rows: folders first, then the
// files, described by the plugin's items when it gave them.
func explorerRows(folder string, res plugin.FileExplorerResult) ([]objectRow, bool) {
	items := make(map[string]plugin.FileItem, len(res.Items))
	for _, it := range res.Items {
		items[it.Key] = it
	}
	rows := make([]objectRow, 0, len(res.Folders)+len(res.Files))
	for _, f := range res.Folders {
		if !strings.HasPrefix(f, folder) {
			f = folder + f // a plugin may answer names relative to the folder
		}
		if !strings.HasSuffix(f, "/") {
			f += "/"
		}
		rows = append(rows, objectRow{Folder: true, Key: f, Name: strings.TrimSuffix(strings.TrimPrefix(f, folder), "/")})
	}
	for _, key := range res.Files {
		row := objectRow{Key: key, Name: strings.TrimPrefix(key, folder)}
		if it, ok := items[key]; ok {
			row.Size, row.ModTime = humanBytes(it.Size), it.LastModified
			row.AssetType, row.ValidAsset = labelhub.AssetType(it.AssetType), it.AssetType != ""
			row.Described = true
		}
		rows = append(rows, row)
	}
	return rows, len(res.Items) > 0
}

// allBatches lists a project's batches for the batch select.
func (s *server) allBatches(ctx context.Context, c *reqCtx, projectID string) ([]labelhub.Batch, error) {
	var out []labelhub.Batch
	for cursor := ""; len(out) < maxIntegrationsShown; {
		page, err := s.cfg.Store.ListBatches(ctx, c.actor.Org.ID, projectID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	return out, nil
}

func (s *server) startExplorerImport(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	proj, p, err := s.explorerScope(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermRunPlugins) {
		return forbidden(c, "run plugins")
	}
	pf := r.PostForm
	ig, err := s.integration(r.Context(), c, pf.Get("integration"))
	if err != nil {
		return err
	}
	q := explorerQuery{Integration: ig.ID, Folder: pf.Get("folder")}
	form := explorerForm{Files: map[string]bool{}, Batches: map[string]bool{}, NewBatch: strings.TrimSpace(pf.Get("newBatch")),
		Recursive: pf.Get("recursive") != ""}
	params := explorerParams{IntegrationID: ig.ID, Bucket: ig.Bucket, Upload: true, Recursive: form.Recursive}
	if params.Folder, err = explorerFolder(q.Folder); err != nil {
		return labelhub.Invalid(err.Error(), labelhub.FieldError{Path: "folder", Message: err.Error()})
	}
	for _, f := range pf["files"] {
		if f != "" && !form.Files[f] {
			form.Files[f] = true
			params.Files = append(params.Files, f)
		}
	}
	for _, b := range pf["batches"] {
		if b != "" && !form.Batches[b] {
			form.Batches[b] = true
			params.Batches = append(params.Batches, b)
		}
	}
	switch pf.Get("mode") {
	case "files":
		if len(params.Files) == 0 {
			form.Err = &formErr{Message: "Select at least one file to import, or import the whole folder.",
				Details: []labelhub.FieldError{{Path: "files", Message: "no file is selected"}}}
			return s.showExplorer(w, r, c, http.StatusUnprocessableEntity, q, form)
		}
	default:
		params.Files = nil // the folder, as it is now
	}
	if form.NewBatch != "" {
		// A new batch is made now, so a name that is not allowed is said
		// here and not in the session's log.
		_, err := s.cfg.Store.CreateBatch(r.Context(), c.actor.Org.ID, proj.ID, form.NewBatch)
		if err != nil && labelhub.ErrorCode(err) != labelhub.ECodeConflict {
			fe, ok := asFormErr(err)
			if !ok {
				return err
			}
			form.Err = fe
			return s.showExplorer(w, r, c, http.StatusUnprocessableEntity, q, form)
		}
		if !form.Batches[form.NewBatch] {
			params.Batches = append(params.Batches, form.NewBatch)
		}
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	run, err := s.cfg.Plugins.CreateRun(r.Context(), c.actor, p.ID, labelhub.RunInput{ProjectID: proj.ID, Params: raw})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/runs/"+run.ID, http.StatusSeeOther)
	return nil
}

// explorerSummary is what the session page of a File Explorer import
// shows: what was imported and, once it ended, the plugin's summary.
type explorerSummary struct {
	Folder    string
	Files     int
	Recursive bool
	Batches   []string
	Ended     bool
	Counts    []summaryCount
	Again     string // the dialog at the folder imported
}

// summaryCount is one figure of an import's summary.
type summaryCount struct {
	Key, Label string
	Value      *int64
}

// summaryKeys are the figures of a File Explorer import's summary, in
// the order shown.
var summaryKeys = []struct{ Key, Label string }{
	{"listed", "Listed"}, {"imported", "Imported"}, {"alreadyThere", "Already there"}, {"notAssets", "Not assets"}, {"invalid", "Invalid"},
}

// fileExplorerSummary describes a File Explorer import run for its
// session page; nil for other runs (and for listing runs).
func (s *server) fileExplorerSummary(ctx context.Context, c *reqCtx, run labelhub.Run) *explorerSummary {
	st, err := s.pluginStore()
	if err != nil {
		return nil
	}
	p, err := st.GetPlugin(ctx, c.actor.Org.ID, run.PluginID)
	if err != nil || p.Type != labelhub.PluginFileExplorer {
		return nil
	}
	var params explorerParams
	if json.Unmarshal(run.Params, &params) != nil || !params.Upload {
		return nil
	}
	sum := &explorerSummary{Folder: params.Folder, Files: len(params.Files), Recursive: params.Recursive, Batches: params.Batches,
		Ended: run.State.Final(), Again: "/projects/" + run.ProjectID + "/plugins/" + p.ID + "/files?integration=" +
			url.QueryEscape(params.IntegrationID) + "&folder=" + url.QueryEscape(params.Folder)}
	var res struct {
		Summary map[string]json.RawMessage `json:"summary"`
	}
	_ = json.Unmarshal(run.Result, &res)
	for _, k := range summaryKeys {
		cnt := summaryCount{Key: k.Key, Label: k.Label}
		var n int64
		if raw, ok := res.Summary[k.Key]; ok && json.Unmarshal(raw, &n) == nil {
			cnt.Value = &n
		}
		sum.Counts = append(sum.Counts, cnt)
	}
	return sum
}
