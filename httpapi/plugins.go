package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/pluginhub"
	"github.com/labelhub/labelhub/pluginproto"
)

// TokenAuthenticator resolves plugin run tokens to actors limited to the
// run's project (sqlstore.Store implements it).
type TokenAuthenticator interface {
	AuthenticateRunToken(ctx context.Context, token string) (labelhub.Actor, error)
}

// RunTokenPrefix starts run tokens; authenticate sends such keys to
// Config.RunTokens instead of the API-key store.
const RunTokenPrefix = "lhr_"

func (s *Server) routesPlugins() {
	s.handlePublic("GET", "/api/v1/plugins/connect", s.connectPlugin)
	// The Python SDK of the model hub dials Socket.IO (Engine.IO's path,
	// GET and POST for long-polling), authenticated by its first event;
	// docs/python-plugins.md. Not an API route, so not in Routes.
	s.mux.Handle("/socket.io/", s.instrument("/socket.io/", s.socketIO))
	s.handle("POST", "/api/v1/plugins", s.createPlugin)
	s.handle("GET", "/api/v1/plugins", s.listPlugins)
	s.handle("GET", "/api/v1/plugins/{pluginId}", s.getPlugin)
	s.handle("PATCH", "/api/v1/plugins/{pluginId}", s.updatePlugin)
	s.handle("DELETE", "/api/v1/plugins/{pluginId}", s.deletePlugin)
	s.handle("POST", "/api/v1/plugins/{pluginId}/rotate-secret", s.rotatePluginSecret)
	s.handle("POST", "/api/v1/plugins/{pluginId}/runs", s.createRun)
	s.handle("GET", "/api/v1/projects/{projectId}/runs", s.listRuns)
	s.handle("GET", "/api/v1/runs/{runId}", s.getRun)
	s.handle("GET", "/api/v1/runs/{runId}/logs", s.runLogs)
	s.handle("POST", "/api/v1/runs/{runId}/cancel", s.cancelRun)
}

var errNoPlugins = labelhub.Errorf(labelhub.ECodeUnavailable, "plugins are not enabled on this hub")

func (s *Server) plugins() (*pluginhub.Hub, labelhub.PluginStore, error) {
	if s.cfg.Plugins == nil {
		return nil, nil, errNoPlugins
	}
	return s.cfg.Plugins, s.cfg.Plugins.Config().Store, nil
}

// scopeAllows decides what a run token may do: inside its project only,
// reads for every plugin type, imports and batches for file-explorer
// plugins (with their run's storage integration and their imports), and
// its own run. Another project is 404, like another
// organisation's; other routes are 403.
func scopeAllows(r *http.Request, a labelhub.Actor, method, pattern string) error {
	sc := a.Scope
	if strings.HasPrefix(pattern, "/v2/") {
		return v2ScopeAllows(r, sc, method, pattern)
	}
	if pattern == "/api/v1/me" {
		return nil
	}
	if strings.Contains(pattern, "{projectId}") {
		if r.PathValue("projectId") != sc.ProjectID {
			return labelhub.NotFound("project")
		}
		if method == http.MethodGet {
			return nil
		}
		if sc.PluginType == labelhub.PluginFileExplorer && method == http.MethodPost &&
			(strings.HasSuffix(pattern, "/imports") || strings.HasSuffix(pattern, "/imports/folder") || strings.HasSuffix(pattern, "/batches")) {
			if id := r.URL.Query().Get("storageId"); id != "" && id != sc.IntegrationID {
				return labelhub.NotFound("storage integration") // only its run's integration
			}
			return nil
		}
	}
	if sc.PluginType == labelhub.PluginFileExplorer {
		// The run's storage integration (params.integrationId), to read
		// and list; any other is 404, like another organisation's.
		if method == http.MethodGet && (pattern == "/api/v1/storages/{storageId}" || pattern == "/api/v1/storages/{storageId}/objects") {
			if sc.IntegrationID == "" || r.PathValue("storageId") != sc.IntegrationID {
				return labelhub.NotFound("storage integration")
			}
			return nil
		}
		// The imports it started: follow and cancel them (importID checks
		// that the import is of the run's project).
		if (method == http.MethodGet && (pattern == "/api/v1/imports/{importId}" || pattern == "/api/v1/imports/{importId}/errors")) ||
			(method == http.MethodPost && pattern == "/api/v1/imports/{importId}/cancel") {
			return nil
		}
	}
	// Its own run: read it, and upload its result file.
	if strings.HasPrefix(pattern, "/api/v1/runs/{runId}") &&
		(method == http.MethodGet || (method == http.MethodPut && pattern == "/api/v1/runs/{runId}/artifact")) {
		if r.PathValue("runId") != sc.RunID {
			return labelhub.NotFound("run")
		}
		return nil
	}
	return labelhub.Errorf(labelhub.ECodeForbidden, "a plugin run token may not call %s %s; it is limited to its run's project", method, pattern)
}

func (s *Server) socketIO(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Plugins == nil {
		writeError(w, r, s.cfg.Logger, errNoPlugins)
		return
	}
	s.cfg.Plugins.SocketIO().ServeHTTP(w, r)
}

func (s *Server) connectPlugin(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		// A plain GET describes the endpoint.
		writeJSON(w, http.StatusOK, map[string]any{"endpoint": "plugin connections", "protocolVersion": pluginproto.Version,
			"message": "plugin processes dial this URL with a WebSocket; see docs/plugin-protocol.md"})
		return
	}
	if s.cfg.Plugins == nil {
		writeError(w, r, s.cfg.Logger, errNoPlugins)
		return
	}
	s.cfg.Plugins.ServeHTTP(w, r)
}

type pluginCreated struct {
	labelhub.Plugin
	Secret string `json:"secret"`
}

type pluginView struct {
	labelhub.Plugin
	Online    bool                      `json:"online"`
	Instances []labelhub.PluginInstance `json:"instances"`
}

func (s *Server) createPlugin(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	_, st, err := s.plugins()
	if err != nil {
		return err
	}
	if err := require(a, labelhub.PermManagePlugins, "register plugins"); err != nil {
		return err
	}
	var in labelhub.PluginInput
	if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	p, secret, err := st.CreatePlugin(r.Context(), a.Org.ID, a.User.ID, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, pluginCreated{Plugin: p, Secret: secret})
	return nil
}

func (s *Server) listPlugins(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	_, st, err := s.plugins()
	if err != nil {
		return err
	}
	return list(w, r, func(p labelhub.PageRequest) (labelhub.Page[labelhub.Plugin], error) {
		return st.ListPlugins(r.Context(), a.Org.ID, p)
	})
}

func (s *Server) pluginOf(r *http.Request, a labelhub.Actor) (labelhub.Plugin, labelhub.PluginStore, error) {
	_, st, err := s.plugins()
	if err != nil {
		return labelhub.Plugin{}, nil, err
	}
	id, err := pathID(r, "pluginId", "plugin")
	if err != nil {
		return labelhub.Plugin{}, nil, err
	}
	p, err := st.GetPlugin(r.Context(), a.Org.ID, id)
	return p, st, err
}

func (s *Server) getPlugin(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, st, err := s.pluginOf(r, a)
	if err != nil {
		return err
	}
	in, err := st.ListInstances(r.Context(), p.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pluginView{Plugin: p, Online: len(in) > 0, Instances: in})
	return nil
}

func (s *Server) updatePlugin(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, st, err := s.pluginOf(r, a)
	if err != nil {
		return err
	}
	if err := p.BuiltinRefusal("changed"); err != nil {
		return err
	}
	if err := require(a, labelhub.PermManagePlugins, "change plugins"); err != nil {
		return err
	}
	var in labelhub.PluginInput
	if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	p, err = st.UpdatePlugin(r.Context(), a.Org.ID, p.ID, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) deletePlugin(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, st, err := s.pluginOf(r, a)
	if err != nil {
		return err
	}
	if err := p.BuiltinRefusal("deleted"); err != nil {
		return err
	}
	if err := require(a, labelhub.PermManagePlugins, "delete plugins"); err != nil {
		return err
	}
	if err := st.DeletePlugin(r.Context(), a.Org.ID, p.ID); err != nil {
		return err
	}
	s.cfg.Plugins.DisconnectPlugin(p.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rotatePluginSecret(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, st, err := s.pluginOf(r, a)
	if err != nil {
		return err
	}
	if err := p.BuiltinRefusal("given a new secret"); err != nil {
		return err
	}
	if err := require(a, labelhub.PermManagePlugins, "rotate plugin secrets"); err != nil {
		return err
	}
	secret, err := st.RotatePluginSecret(r.Context(), a.Org.ID, p.ID)
	if err != nil {
		return err
	}
	s.cfg.Plugins.DisconnectPlugin(p.ID)
	writeJSON(w, http.StatusOK, map[string]string{"id": p.ID, "secret": secret})
	return nil
}

// maxWait bounds ?wait=true.
const maxWait = 60 * time.Second

func (s *Server) createRun(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, _, err := s.pluginOf(r, a)
	if err != nil {
		return err
	}
	if err := require(a, labelhub.PermRunPlugins, "run plugins"); err != nil {
		return err
	}
	var problems labelhub.Problems
	wait := boolQuery(r, "wait", &problems)
	if err := problems.Err("invalid query"); err != nil {
		return err
	}
	var in labelhub.RunInput
	if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	run, err := s.cfg.Plugins.CreateRun(r.Context(), a, p.ID, in)
	if err != nil {
		return err
	}
	if wait {
		ctx, cancel := context.WithTimeout(r.Context(), maxWait)
		run, err = s.cfg.Plugins.Wait(ctx, a.Org.ID, run.ID)
		cancel()
		if err != nil {
			return err
		}
		if run.State.Final() {
			writeJSON(w, http.StatusOK, run)
			return nil
		}
	}
	writeJSON(w, http.StatusAccepted, run)
	return nil
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	_, st, err := s.plugins()
	if err != nil {
		return err
	}
	id, err := pathID(r, "projectId", "project")
	if err != nil {
		return err
	}
	if !a.InProject(id) {
		return labelhub.NotFound("project")
	}
	return list(w, r, func(p labelhub.PageRequest) (labelhub.Page[labelhub.Run], error) {
		return st.ListRuns(r.Context(), a.Org.ID, id, p)
	})
}

func (s *Server) runOf(r *http.Request, a labelhub.Actor) (labelhub.Run, labelhub.PluginStore, error) {
	_, st, err := s.plugins()
	if err != nil {
		return labelhub.Run{}, nil, err
	}
	id, err := pathID(r, "runId", "run")
	if err != nil {
		return labelhub.Run{}, nil, err
	}
	run, err := st.GetRun(r.Context(), a.Org.ID, id)
	if err == nil && !a.InProject(run.ProjectID) {
		err = labelhub.NotFound("run")
	}
	return run, st, err
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	run, st, err := s.runOf(r, a)
	if err != nil {
		return err
	}
	if as, ok := st.(labelhub.RunArtifactStore); ok {
		art, err := as.GetRunArtifact(r.Context(), a.Org.ID, run.ID)
		switch {
		case err == nil:
			run.Artifact = &art
		case labelhub.ErrorCode(err) != labelhub.ECodeNotFound:
			return err
		}
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	run, _, err := s.runOf(r, a)
	if err != nil {
		return err
	}
	if err := require(a, labelhub.PermRunPlugins, "cancel runs"); err != nil {
		return err
	}
	run, err = s.cfg.Plugins.Cancel(r.Context(), a.Org.ID, run.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

type logPage struct {
	Items []labelhub.RunLog `json:"items"`
	// Next is the after= value that continues the log.
	Next int64 `json:"next"`
	// Final says the run has ended, so the log will not grow.
	Final bool `json:"final"`
}

// runLogs answers a page of a run's log after ?after= (a seq), or, with
// Accept: text/event-stream or ?stream=true, streams it as server-sent
// events (event "log", then "end" when the run is over).
func (s *Server) runLogs(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	run, st, err := s.runOf(r, a)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var p labelhub.Problems
	after, limit := int64(0), 1000
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			p.Add("after", "must be a log sequence number (0 or more)")
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > labelhub.MaxPageLimit {
			p.Add("limit", "must be between 1 and %d", labelhub.MaxPageLimit)
		}
	}
	stream := boolQuery(r, "stream", &p) || strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	if err := p.Err("invalid query"); err != nil {
		return err
	}
	if !stream {
		logs, err := st.ListRunLogs(r.Context(), a.Org.ID, run.ID, after, limit)
		if err != nil {
			return err
		}
		next := after
		if len(logs) > 0 {
			next = logs[len(logs)-1].Seq
		}
		writeJSON(w, http.StatusOK, logPage{Items: logs, Next: next, Final: run.State.Final() && len(logs) < limit})
		return nil
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	hub := s.cfg.Plugins
	// sendLogs sends the lines after after, at most a page; it reports how
	// many it sent, or -1 when the store failed (the stream has started:
	// the client sees it end).
	sendLogs := func() int {
		logs, err := st.ListRunLogs(r.Context(), a.Org.ID, run.ID, after, labelhub.MaxPageLimit)
		if err != nil {
			return -1
		}
		for _, l := range logs {
			b, _ := json.Marshal(l)
			fmt.Fprintf(w, "id: %d\nevent: log\ndata: %s\n\n", l.Seq, b)
			after = l.Seq
		}
		return len(logs)
	}
	for {
		changed := hub.Changed(run.ID)
		n := sendLogs()
		if n < 0 {
			return nil
		}
		if n < labelhub.MaxPageLimit {
			cur, err := st.GetRun(r.Context(), a.Org.ID, run.ID)
			if err != nil {
				return nil
			}
			if cur.State.Final() {
				// Lines committed with the end, after the list above,
				// go before it: every line of a run precedes its end.
				for n = sendLogs(); n > 0; n = sendLogs() {
				}
				if n < 0 {
					return nil
				}
				b, _ := json.Marshal(cur)
				fmt.Fprintf(w, "event: end\ndata: %s\n\n", b)
				_ = rc.Flush()
				return nil
			}
		}
		_ = rc.Flush()
		if n == labelhub.MaxPageLimit {
			continue
		}
		select {
		case <-changed:
		case <-time.After(hub.PollInterval()):
		case <-r.Context().Done():
			return nil
		}
	}
}
