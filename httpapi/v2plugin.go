package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/labelhub/labelhub"
)

// The SDK's REST connector: a plugin that does not keep a Socket.IO
// connection sends its log lines and its run's end over HTTP with the run
// token. The hub (pluginhub.Hub.PluginLog, PluginResponse) treats them as
// the log and response events of its Socket.IO connection.

// ownSession checks that a body's session (when it names one) is the run
// of the caller's token.
func ownSession(a labelhub.Actor, m map[string]json.RawMessage, what string) (string, error) {
	if a.Scope == nil {
		return "", labelhub.Errorf(labelhub.ECodeForbidden, "only a plugin run sends its %s, with its run token (the apiKey of its run)", what)
	}
	if raw, ok := m["session"]; ok && string(raw) != "null" {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", labelhub.Invalid("invalid request", labelhub.FieldError{Path: "session", Message: "must be a string: the run's id"})
		}
		if s != "" && s != a.Scope.RunID {
			return "", labelhub.NotFound("run") // another run, like another run's token elsewhere
		}
	}
	return a.Scope.RunID, nil
}

// pluginLog answers POST /v2/pluginLog {level, organization, pluginId,
// runBy, session, msg, …} (the SDK's PluginLogger in REST mode): one line
// of the run's log. level is the Python logging level (DEBUG, INFO,
// WARNING, ERROR, CRITICAL); other fields are accepted and not kept.
func (v *v2) pluginLog(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	m, _, err := v.decodeLoose(w, r)
	if err != nil {
		return err
	}
	runID, err := ownSession(a, m, "log")
	if err != nil {
		return err
	}
	var level, msg string
	if raw, ok := m["level"]; ok && string(raw) != "null" && json.Unmarshal(raw, &level) != nil {
		return labelhub.Invalid("invalid request", labelhub.FieldError{Path: "level", Message: "must be a string such as INFO or ERROR"})
	}
	raw, ok := m["msg"]
	if !ok {
		return labelhub.Invalid("invalid request", labelhub.FieldError{Path: "msg", Message: "is required: the text of the log line"})
	}
	if json.Unmarshal(raw, &msg) != nil {
		msg = string(raw) // the SDK sends what the script logged
	}
	if v.s.cfg.Plugins == nil {
		return errNoPlugins
	}
	if err := v.s.cfg.Plugins.PluginLog(r.Context(), runID, level, msg); err != nil {
		return err
	}
	writeV2(w, http.StatusOK, map[string]any{})
	return nil
}

// pluginResponse answers POST /v2/pluginResponse {response, session},
// {error: true, session} or {export: true, response: URL, session}: it
// ends the token's run as the Socket.IO response event does.
func (v *v2) pluginResponse(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	m, body, err := v.decodeLoose(w, r)
	if err != nil {
		return err
	}
	runID, err := ownSession(a, m, "response")
	if err != nil {
		return err
	}
	if v.s.cfg.Plugins == nil {
		return errNoPlugins
	}
	if err := v.s.cfg.Plugins.PluginResponse(r.Context(), runID, body); err != nil {
		return err
	}
	writeV2(w, http.StatusOK, map[string]any{})
	return nil
}
