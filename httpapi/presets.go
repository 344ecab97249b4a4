package httpapi

import (
	"net/http"

	"github.com/labelhub/labelhub"
)

// Presets are named Config JSONs of one plugin in one project. Everyone
// who can see the project reads them; admins and project managers
// (PermManagePlugins) create, change and delete them.
func (s *Server) routesPresets() {
	s.handle("GET", "/api/v1/projects/{projectId}/plugins/{pluginId}/presets", s.listPresets)
	s.handle("POST", "/api/v1/projects/{projectId}/plugins/{pluginId}/presets", s.createPreset)
	s.handle("GET", "/api/v1/presets/{presetId}", s.getPreset)
	s.handle("PATCH", "/api/v1/presets/{presetId}", s.updatePreset)
	s.handle("DELETE", "/api/v1/presets/{presetId}", s.deletePreset)
}

// presetStores returns the plugin store and its preset part.
func (s *Server) presetStores() (labelhub.PluginStore, labelhub.PresetStore, error) {
	_, st, err := s.plugins()
	if err != nil {
		return nil, nil, err
	}
	ps, ok := st.(labelhub.PresetStore)
	if !ok {
		return nil, nil, labelhub.Errorf(labelhub.ECodeUnavailable, "presets are not supported by this hub's store")
	}
	return st, ps, nil
}

// presetScope checks the project and the plugin of the path, existence
// first, so that another organisation's ids are 404 whatever the role.
func (s *Server) presetScope(r *http.Request, a labelhub.Actor) (projectID, pluginID string, st labelhub.PluginStore, ps labelhub.PresetStore, err error) {
	if st, ps, err = s.presetStores(); err != nil {
		return
	}
	if projectID, err = pathID(r, "projectId", "project"); err != nil {
		return
	}
	if pluginID, err = pathID(r, "pluginId", "plugin"); err != nil {
		return
	}
	if !a.InProject(projectID) {
		err = labelhub.NotFound("project")
		return
	}
	if _, err = s.cfg.Store.GetProject(r.Context(), a.Org.ID, projectID); err != nil {
		return
	}
	_, err = st.GetPlugin(r.Context(), a.Org.ID, pluginID)
	return
}

func (s *Server) listPresets(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	projectID, pluginID, st, _, err := s.presetScope(r, a)
	if err != nil {
		return err
	}
	return list(w, r, func(p labelhub.PageRequest) (labelhub.Page[labelhub.Preset], error) {
		return st.ListPresets(r.Context(), a.Org.ID, projectID, pluginID, p)
	})
}

func (s *Server) createPreset(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	projectID, pluginID, _, ps, err := s.presetScope(r, a)
	if err != nil {
		return err
	}
	if err := require(a, labelhub.PermManagePlugins, "save presets"); err != nil {
		return err
	}
	var in labelhub.PresetInput
	if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	p, err := ps.CreatePreset(r.Context(), a.Org.ID, a.User.ID, projectID, pluginID, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *Server) presetOf(r *http.Request, a labelhub.Actor) (labelhub.Preset, labelhub.PluginStore, labelhub.PresetStore, error) {
	st, ps, err := s.presetStores()
	if err != nil {
		return labelhub.Preset{}, nil, nil, err
	}
	id, err := pathID(r, "presetId", "preset")
	if err != nil {
		return labelhub.Preset{}, nil, nil, err
	}
	p, err := ps.GetPreset(r.Context(), a.Org.ID, id)
	if err == nil && !a.InProject(p.ProjectID) {
		err = labelhub.NotFound("preset")
	}
	return p, st, ps, err
}

func (s *Server) getPreset(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, _, _, err := s.presetOf(r, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) updatePreset(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, _, ps, err := s.presetOf(r, a)
	if err != nil {
		return err
	}
	if err := require(a, labelhub.PermManagePlugins, "change presets"); err != nil {
		return err
	}
	var in labelhub.PresetInput
	if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	p, err = ps.UpdatePreset(r.Context(), a.Org.ID, p.ID, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) deletePreset(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, st, _, err := s.presetOf(r, a)
	if err != nil {
		return err
	}
	if err := require(a, labelhub.PermManagePlugins, "delete presets"); err != nil {
		return err
	}
	if err := st.DeletePreset(r.Context(), a.Org.ID, p.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
