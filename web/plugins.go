package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
)

// The Plugins pages: the organisation's plugins (register, rotate a
// secret, delete), a project's Plugins section, the run dialog with its
// Config JSON editor and presets. The Sessions pages are in runs.go.

func init() {
	pageNames = append(pageNames, "plugins", "plugin", "project_plugins", "run_dialog", "runs", "run")
	flashes["plugin-deleted"] = "Plugin deleted. Its processes were disconnected."
	flashes["preset-saved"] = "Preset saved."
	flashes["preset-deleted"] = "Preset deleted."
	flashes["run-cancel-requested"] = "Cancel requested."
}

func (s *server) routesPlugins() {
	m := s.mux
	m.HandleFunc("GET /plugins", s.page(s.pluginsPage))
	m.HandleFunc("POST /plugins", s.page(s.createPlugin))
	m.HandleFunc("GET /plugins/{pluginId}", s.page(s.pluginPage))
	m.HandleFunc("POST /plugins/{pluginId}/rotate-secret", s.page(s.rotatePluginSecret))
	m.HandleFunc("POST /plugins/{pluginId}/delete", s.page(s.deletePlugin))
	m.HandleFunc("GET /projects/{projectId}/plugins", s.page(s.projectPluginsPage))
	m.HandleFunc("GET /projects/{projectId}/plugins/{pluginId}", s.page(s.runDialog))
	m.HandleFunc("POST /projects/{projectId}/plugins/{pluginId}/run", s.page(s.startRun))
	m.HandleFunc("POST /projects/{projectId}/plugins/{pluginId}/presets", s.page(s.savePreset))
	m.HandleFunc("POST /presets/{presetId}/delete", s.page(s.deletePreset))
	m.HandleFunc("GET /projects/{projectId}/runs", s.page(s.runsPage))
	m.HandleFunc("GET /runs/{runId}", s.page(s.runPage))
	m.HandleFunc("POST /runs/{runId}/cancel", s.page(s.cancelRun))
}

// errNoPlugins answers the plugin pages of a hub without a plugin hub.
var errNoPlugins = labelhub.Errorf(labelhub.ECodeNotFound, "Plugins are not enabled on this hub.")

// pluginStore is the store behind the plugin hub.
func (s *server) pluginStore() (labelhub.PluginStore, error) {
	if s.cfg.Plugins == nil {
		return nil, errNoPlugins
	}
	return s.cfg.Plugins.Config().Store, nil
}

// presetStore is the preset part of the plugin hub's store.
func (s *server) presetStore() (labelhub.PresetStore, error) {
	st, err := s.pluginStore()
	if err != nil {
		return nil, err
	}
	ps, ok := st.(labelhub.PresetStore)
	if !ok {
		return nil, labelhub.Errorf(labelhub.ECodeUnavailable, "Presets are not supported by this hub's store.")
	}
	return ps, nil
}

// pluginRow is a plugin with its connected instances.
type pluginRow struct {
	labelhub.Plugin
	Instances []labelhub.PluginInstance
}

// Online reports whether at least one plugin process is connected.
func (p pluginRow) Online() bool { return len(p.Instances) > 0 }

func (s *server) withInstances(ctx context.Context, st labelhub.PluginStore, ps []labelhub.Plugin) ([]pluginRow, error) {
	rows := make([]pluginRow, len(ps))
	for i, p := range ps {
		in, err := st.ListInstances(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		rows[i] = pluginRow{Plugin: p, Instances: in}
	}
	return rows, nil
}

type pluginForm struct {
	Name, Type, Description, DefaultConfig string
	Err                                    *formErr
}

type pluginsView struct {
	Plugins    []pluginRow
	NextCursor string
	Paged      bool
	CanManage  bool
	Form       pluginForm
	Types      []labelhub.PluginType
}

func (s *server) pluginsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return s.showPlugins(w, r, c, http.StatusOK, pluginForm{Type: string(labelhub.PluginExport)})
}

func (s *server) showPlugins(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, form pluginForm) error {
	rows, next, cursor, err := s.pluginsPageRows(r, c)
	if err != nil {
		return err
	}
	s.render(w, r, status, "plugins", c, "Plugins", "plugins", pluginsView{
		Plugins: rows, NextCursor: next, Paged: cursor != "", CanManage: c.can(labelhub.PermManagePlugins),
		Form: form, Types: labelhub.PluginTypes,
	})
	return nil
}

func (s *server) createPlugin(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	st, err := s.pluginStore()
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermManagePlugins) {
		return forbidden(c, "register plugins")
	}
	pf := r.PostForm
	form := pluginForm{Name: strings.TrimSpace(pf.Get("name")), Type: pf.Get("type"), Description: pf.Get("description"),
		DefaultConfig: strings.TrimSpace(pf.Get("defaultConfig"))}
	typ := labelhub.PluginType(form.Type)
	in := labelhub.PluginInput{Name: &form.Name, Type: &typ, Description: &form.Description, DefaultConfig: &form.DefaultConfig}
	if msg := labelhub.ConfigJSONProblem(form.DefaultConfig, true); msg != "" {
		err = labelhub.Invalid("invalid plugin", labelhub.FieldError{Path: "defaultConfig", Message: msg})
	}
	if err == nil {
		var p labelhub.Plugin
		var secret string
		if p, secret, err = st.CreatePlugin(r.Context(), c.actor.Org.ID, c.actor.User.ID, in); err == nil {
			return s.showPlugin(w, r, c, http.StatusCreated, p, secret, "created")
		}
	}
	fe, ok := asFormErr(err)
	if !ok {
		return err
	}
	form.Err = fe
	return s.showPlugins(w, r, c, http.StatusUnprocessableEntity, form)
}

// loadPlugin reads the plugin named in the path; an id of another
// organisation, or no id at all, is not found.
func (s *server) loadPlugin(r *http.Request, c *reqCtx) (labelhub.Plugin, labelhub.PluginStore, error) {
	st, err := s.pluginStore()
	if err != nil {
		return labelhub.Plugin{}, nil, err
	}
	id := r.PathValue("pluginId")
	if !labelhub.ValidID(id) {
		return labelhub.Plugin{}, nil, labelhub.NotFound("plugin")
	}
	p, err := st.GetPlugin(r.Context(), c.actor.Org.ID, id)
	return p, st, err
}

type pluginView struct {
	Plugin    pluginRow
	CanManage bool
	// Secret is set right after creating or rotating: shown this once.
	Secret    string
	SecretWhy string // "created" or "rotated"
	// QueueTimeout is how long a run waits for an instance.
	QueueTimeout string
	Server       string // the hub's address, for the start command
}

func (s *server) pluginPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, _, err := s.loadPlugin(r, c)
	if err != nil {
		return err
	}
	return s.showPlugin(w, r, c, http.StatusOK, p, "", "")
}

func (s *server) showPlugin(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, p labelhub.Plugin, secret, why string) error {
	st, err := s.pluginStore()
	if err != nil {
		return err
	}
	rows, err := s.withInstances(r.Context(), st, []labelhub.Plugin{p})
	if err != nil {
		return err
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	s.render(w, r, status, "plugin", c, p.Name, "plugins", pluginView{
		Plugin: rows[0], CanManage: c.can(labelhub.PermManagePlugins), Secret: secret, SecretWhy: why,
		QueueTimeout: humanDuration(s.cfg.Plugins.Config().QueueTimeout), Server: scheme + "://" + r.Host,
	})
	return nil
}

func (s *server) rotatePluginSecret(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, st, err := s.loadPlugin(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermManagePlugins) {
		return forbidden(c, "rotate plugin secrets")
	}
	secret, err := st.RotatePluginSecret(r.Context(), c.actor.Org.ID, p.ID)
	if err != nil {
		return err
	}
	s.cfg.Plugins.DisconnectPlugin(p.ID)
	return s.showPlugin(w, r, c, http.StatusOK, p, secret, "rotated")
}

func (s *server) deletePlugin(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, st, err := s.loadPlugin(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermManagePlugins) {
		return forbidden(c, "delete plugins")
	}
	if err := st.DeletePlugin(r.Context(), c.actor.Org.ID, p.ID); err != nil {
		return err
	}
	s.cfg.Plugins.DisconnectPlugin(p.ID)
	s.redirectWithFlash(w, r, "/plugins", "plugin-deleted")
	return nil
}

type projectPluginsView struct {
	Project    labelhub.Project
	Tab        string
	Plugins    []pluginRow
	NextCursor string
	Paged      bool
}

// pluginsPageRows is the page of the organisation's plugins (built-in ones
// included) at the request's cursor, with their instances.
func (s *server) pluginsPageRows(r *http.Request, c *reqCtx) (rows []pluginRow, next, cursor string, err error) {
	st, err := s.pluginStore()
	if err != nil {
		return nil, "", "", err
	}
	cursor = r.URL.Query().Get("cursor")
	page, err := st.ListPlugins(r.Context(), c.actor.Org.ID, labelhub.PageRequest{Limit: pageSize, Cursor: cursor})
	if err != nil {
		return nil, "", "", err
	}
	rows, err = s.withInstances(r.Context(), st, page.Items)
	return rows, page.NextCursor, cursor, err
}

func (s *server) projectPluginsPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, err := s.loadProject(r, c)
	if err != nil {
		return err
	}
	rows, next, cursor, err := s.pluginsPageRows(r, c)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "project_plugins", c, "Plugins · "+p.Name, "projects", projectPluginsView{
		Project: p, Tab: "plugins", Plugins: rows, NextCursor: next, Paged: cursor != "",
	})
	return nil
}

// runForm is the run dialog's form as typed.
type runForm struct {
	Config     string
	PresetID   string // the preset the text came from, if any
	PresetName string
	Replace    bool
	Err        *formErr
	// Filters and FiltersErr: the export filters of an Export plugin's
	// run (exportrun.go) and the hub's errors about them.
	Filters    exportFilters
	FiltersErr *formErr
}

type runDialogView struct {
	Project       labelhub.Project
	Tab           string
	Plugin        pluginRow
	Presets       []labelhub.Preset
	CanRun        bool
	CanManage     bool
	QueueTimeout  string
	Form          runForm
	DefaultConfig string
	Export        *exportChoices // set for Export plugins
}

// maxPresetsShown bounds the preset select.
const maxPresetsShown = 1000

func (s *server) runDialog(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	proj, err := s.loadProject(r, c)
	if err != nil {
		return err
	}
	p, _, err := s.loadPlugin(r, c)
	if err != nil {
		return err
	}
	form := runForm{Config: prettyConfig(p.DefaultConfig), Filters: defaultExportFilters()}
	if id := r.URL.Query().Get("preset"); id != "" {
		ps, err := s.presetStore()
		if err != nil {
			return err
		}
		if !labelhub.ValidID(id) {
			return labelhub.NotFound("preset")
		}
		pr, err := ps.GetPreset(r.Context(), c.actor.Org.ID, id)
		if err == nil && (pr.ProjectID != proj.ID || pr.PluginID != p.ID) {
			err = labelhub.NotFound("preset")
		}
		if err != nil {
			return err
		}
		form.Config, form.PresetID, form.PresetName = prettyConfig(pr.ConfigJSON), pr.ID, pr.Name
	}
	return s.showRunDialog(w, r, c, http.StatusOK, proj, p, form)
}

func (s *server) showRunDialog(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, proj labelhub.Project, p labelhub.Plugin, form runForm) error {
	st, err := s.pluginStore()
	if err != nil {
		return err
	}
	rows, err := s.withInstances(r.Context(), st, []labelhub.Plugin{p})
	if err != nil {
		return err
	}
	var presets []labelhub.Preset
	for cursor := ""; len(presets) < maxPresetsShown; {
		page, err := st.ListPresets(r.Context(), c.actor.Org.ID, proj.ID, p.ID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit, Cursor: cursor})
		if err != nil {
			return err
		}
		presets = append(presets, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	for i := range presets {
		presets[i].ConfigJSON = prettyConfig(presets[i].ConfigJSON)
	}
	var export *exportChoices
	if p.Type == labelhub.PluginExport {
		if export, err = s.exportChoicesOf(r.Context(), c, proj); err != nil {
			return err
		}
	}
	s.render(w, r, status, "run_dialog", c, "Run "+p.Name, "projects", runDialogView{
		Project: proj, Tab: "plugins", Plugin: rows[0], Presets: presets,
		CanRun: c.can(labelhub.PermRunPlugins), CanManage: c.can(labelhub.PermManagePlugins),
		QueueTimeout: humanDuration(s.cfg.Plugins.Config().QueueTimeout), Form: form, DefaultConfig: prettyConfig(p.DefaultConfig),
		Export: export,
	})
	return nil
}

// prettyConfig indents a Config JSON text for the editor; text that is
// not JSON is shown as it is.
func prettyConfig(text string) string {
	if strings.TrimSpace(text) == "" {
		return ""
	}
	var b strings.Builder
	if err := indentJSON(&b, text); err != nil {
		return text
	}
	return b.String()
}

// configProblem checks the editor's text, as the API would: blank, or one
// JSON value; the message says where it breaks.
func configProblem(text string) error {
	if msg := labelhub.ConfigJSONProblem(text, true); msg != "" {
		return labelhub.Invalid("The Config JSON is not valid JSON; nothing was sent.", labelhub.FieldError{Path: "configJSON", Message: msg})
	}
	return nil
}

// runScope loads the project and the plugin of the run dialog's path and
// reads its form.
func (s *server) runScope(r *http.Request, c *reqCtx) (labelhub.Project, labelhub.Plugin, runForm, error) {
	proj, err := s.loadProject(r, c)
	if err != nil {
		return labelhub.Project{}, labelhub.Plugin{}, runForm{}, err
	}
	p, _, err := s.loadPlugin(r, c)
	if err != nil {
		return labelhub.Project{}, labelhub.Plugin{}, runForm{}, err
	}
	pf := r.PostForm
	form := runForm{Config: strings.TrimSpace(pf.Get("configJSON")), PresetID: pf.Get("preset"),
		PresetName: strings.TrimSpace(pf.Get("presetName")), Replace: pf.Get("replace") != "", Filters: readExportFilters(pf)}
	if pf.Get("filters") == "" { // a form without the filters: the defaults
		form.Filters = defaultExportFilters()
	}
	return proj, p, form, nil
}

func (s *server) startRun(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	proj, p, form, err := s.runScope(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermRunPlugins) {
		return forbidden(c, "run plugins")
	}
	in := labelhub.RunInput{ProjectID: proj.ID}
	if p.Type == labelhub.PluginExport {
		in.Params, err = form.Filters.params()
	}
	if err == nil {
		err = configProblem(form.Config)
	}
	if err == nil {
		var run labelhub.Run
		cfg := form.Config
		in.ConfigJSON = &cfg
		if run, err = s.cfg.Plugins.CreateRun(r.Context(), c.actor, p.ID, in); err == nil {
			http.Redirect(w, r, "/runs/"+run.ID, http.StatusSeeOther)
			return nil
		}
	}
	fe, ok := asFormErr(err)
	if !ok {
		return err
	}
	if paramsErr(fe) {
		form.FiltersErr = fe
	} else {
		form.Err = fe
	}
	return s.showRunDialog(w, r, c, http.StatusUnprocessableEntity, proj, p, form)
}

func (s *server) savePreset(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	proj, p, form, err := s.runScope(r, c)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermManagePlugins) {
		return forbidden(c, "save presets")
	}
	ps, err := s.presetStore()
	if err != nil {
		return err
	}
	in := labelhub.PresetInput{Name: &form.PresetName, ConfigJSON: &form.Config}
	pr, err := ps.CreatePreset(r.Context(), c.actor.Org.ID, c.actor.User.ID, proj.ID, p.ID, in)
	if labelhub.ErrorCode(err) == labelhub.ECodeConflict && form.Replace {
		var old labelhub.Preset
		if old, err = s.presetByName(r.Context(), c, proj.ID, p.ID, form.PresetName); err == nil {
			pr, err = ps.UpdatePreset(r.Context(), c.actor.Org.ID, old.ID, labelhub.PresetInput{ConfigJSON: &form.Config})
		}
	}
	if err == nil {
		s.redirectWithFlash(w, r, "/projects/"+proj.ID+"/plugins/"+p.ID+"?preset="+url.QueryEscape(pr.ID), "preset-saved")
		return nil
	}
	fe, ok := asFormErr(err)
	if !ok {
		return err
	}
	if labelhub.ErrorCode(err) == labelhub.ECodeConflict {
		fe.Message += ". Tick “Replace” to overwrite it."
	}
	form.Err = fe
	return s.showRunDialog(w, r, c, http.StatusUnprocessableEntity, proj, p, form)
}

func (s *server) presetByName(ctx context.Context, c *reqCtx, projectID, pluginID, name string) (labelhub.Preset, error) {
	st, err := s.pluginStore()
	if err != nil {
		return labelhub.Preset{}, err
	}
	for cursor := ""; ; {
		page, err := st.ListPresets(ctx, c.actor.Org.ID, projectID, pluginID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit, Cursor: cursor})
		if err != nil {
			return labelhub.Preset{}, err
		}
		for _, p := range page.Items {
			if p.Name == name {
				return p, nil
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			return labelhub.Preset{}, labelhub.NotFound("preset")
		}
	}
}

func (s *server) deletePreset(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ps, err := s.presetStore()
	if err != nil {
		return err
	}
	id := r.PathValue("presetId")
	if !labelhub.ValidID(id) {
		return labelhub.NotFound("preset")
	}
	pr, err := ps.GetPreset(r.Context(), c.actor.Org.ID, id)
	if err != nil {
		return err
	}
	if !c.can(labelhub.PermManagePlugins) {
		return forbidden(c, "delete presets")
	}
	st, _ := s.pluginStore()
	if err := st.DeletePreset(r.Context(), c.actor.Org.ID, pr.ID); err != nil {
		return err
	}
	s.redirectWithFlash(w, r, "/projects/"+pr.ProjectID+"/plugins/"+pr.PluginID, "preset-deleted")
	return nil
}

// since formats how long ago t was, coarsely, for "last seen".
func since(t time.Time) string {
	d := time.Since(t)
	if d < 0 {
		d = 0
	}
	return humanDuration(d) + " ago"
}
