package httpapi

import (
	"net/http"

	"github.com/labelhub/labelhub"
)

type meResponse struct {
	User         labelhub.User         `json:"user"`
	Organization labelhub.Organization `json:"organization"`
	Role         labelhub.Role         `json:"role"`
	ServerAdmin  bool                  `json:"serverAdmin"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	writeJSON(w, http.StatusOK, meResponse{User: a.User, Organization: a.Org, Role: a.User.Role, ServerAdmin: a.ServerAdmin()})
	return nil
}

var errNotServerAdmin = labelhub.Errorf(labelhub.ECodeForbidden, "only server admins (admins of the first organisation) manage organisations")

type orgCreated struct {
	labelhub.Organization
	Admin  labelhub.User `json:"admin"`
	APIKey string        `json:"apiKey"`
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	if !a.ServerAdmin() {
		return errNotServerAdmin
	}
	var in labelhub.NewOrg
	if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	org, admin, key, err := s.cfg.Store.CreateOrg(r.Context(), in, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, orgCreated{Organization: org, Admin: admin, APIKey: key})
	return nil
}

func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	if !a.ServerAdmin() {
		return errNotServerAdmin
	}
	return list(w, r, func(p labelhub.PageRequest) (labelhub.Page[labelhub.Organization], error) {
		return s.cfg.Store.ListOrgs(r.Context(), p)
	})
}

// list answers one page of a list.
func list[T any](w http.ResponseWriter, r *http.Request, get func(labelhub.PageRequest) (labelhub.Page[T], error)) error {
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := get(p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	if err := require(a, labelhub.PermManageUsers, "create users"); err != nil {
		return err
	}
	var in labelhub.NewUser
	if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	u, err := s.cfg.Store.CreateUser(r.Context(), a.Org.ID, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	return list(w, r, func(p labelhub.PageRequest) (labelhub.Page[labelhub.User], error) {
		return s.cfg.Store.ListUsers(r.Context(), a.Org.ID, p)
	})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	id, err := pathID(r, "userId", "user")
	if err != nil {
		return err
	}
	u, err := s.cfg.Store.GetUser(r.Context(), a.Org.ID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

type apiKeyInput struct {
	Name string `json:"name"`
	// UserID creates the key for another user of the organisation (admins only).
	UserID string `json:"userId"`
}

type apiKeyCreated struct {
	labelhub.APIKey
	Key string `json:"apiKey"`
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	var in apiKeyInput
	if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	if in.UserID == "" {
		in.UserID = a.User.ID
	}
	if in.UserID != a.User.ID {
		if err := require(a, labelhub.PermManageUsers, "create API keys for other users"); err != nil {
			return err
		}
	}
	k, key, err := s.cfg.Store.CreateAPIKey(r.Context(), a.Org.ID, in.UserID, in.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiKeyCreated{APIKey: k, Key: key})
	return nil
}

// listAPIKeys lists the caller's keys; admins see every key of the
// organisation (or one user's with ?userId=).
func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	userID := a.User.ID
	if a.User.Role.Can(labelhub.PermManageUsers) {
		userID = r.URL.Query().Get("userId")
	}
	return list(w, r, func(p labelhub.PageRequest) (labelhub.Page[labelhub.APIKey], error) {
		return s.cfg.Store.ListAPIKeys(r.Context(), a.Org.ID, userID, p)
	})
}

// visibleKey returns a key the caller may see: its own, or any in the
// organisation for admins. Others' keys are not found.
func (s *Server) visibleKey(r *http.Request, a labelhub.Actor) (labelhub.APIKey, error) {
	id, err := pathID(r, "apiKeyId", "API key")
	if err != nil {
		return labelhub.APIKey{}, err
	}
	k, err := s.cfg.Store.GetAPIKey(r.Context(), a.Org.ID, id)
	if err != nil {
		return k, err
	}
	if k.UserID != a.User.ID && !a.User.Role.Can(labelhub.PermManageUsers) {
		return labelhub.APIKey{}, labelhub.NotFound("API key")
	}
	return k, nil
}

func (s *Server) getAPIKey(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	k, err := s.visibleKey(r, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k)
	return nil
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	k, err := s.visibleKey(r, a)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.RevokeAPIKey(r.Context(), a.Org.ID, k.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	if err := require(a, labelhub.PermManageProjects, "create projects"); err != nil {
		return err
	}
	var in labelhub.ProjectInput
	if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	p, err := s.cfg.Store.CreateProject(r.Context(), a.Org.ID, a.User.ID, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	return list(w, r, func(p labelhub.PageRequest) (labelhub.Page[labelhub.Project], error) {
		return s.cfg.Store.ListProjects(r.Context(), a.Org.ID, p)
	})
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	id, err := pathID(r, "projectId", "project")
	if err != nil {
		return err
	}
	p, err := s.cfg.Store.GetProject(r.Context(), a.Org.ID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	id, err := pathID(r, "projectId", "project")
	if err != nil {
		return err
	}
	// Existence first, so another organisation's id is 404 whatever the role.
	if _, err := s.cfg.Store.GetProject(r.Context(), a.Org.ID, id); err != nil {
		return err
	}
	if err := require(a, labelhub.PermManageProjects, "edit projects"); err != nil {
		return err
	}
	var in labelhub.ProjectInput
	if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	p, err := s.cfg.Store.UpdateProject(r.Context(), a.Org.ID, id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	id, err := pathID(r, "projectId", "project")
	if err != nil {
		return err
	}
	if _, err := s.cfg.Store.GetProject(r.Context(), a.Org.ID, id); err != nil {
		return err
	}
	if err := require(a, labelhub.PermManageProjects, "delete projects"); err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteProject(r.Context(), a.Org.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type batchInput struct {
	Name string `json:"name"`
}

func (s *Server) createBatch(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	id, err := pathID(r, "projectId", "project")
	if err != nil {
		return err
	}
	if _, err := s.cfg.Store.GetProject(r.Context(), a.Org.ID, id); err != nil {
		return err
	}
	if err := require(a, labelhub.PermManageProjects, "create batches"); err != nil {
		return err
	}
	var in batchInput
	if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	b, err := s.cfg.Store.CreateBatch(r.Context(), a.Org.ID, id, in.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, b)
	return nil
}

func (s *Server) listBatches(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	id, err := pathID(r, "projectId", "project")
	if err != nil {
		return err
	}
	return list(w, r, func(p labelhub.PageRequest) (labelhub.Page[labelhub.Batch], error) {
		return s.cfg.Store.ListBatches(r.Context(), a.Org.ID, id, p)
	})
}

func (s *Server) getBatch(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	id, err := pathID(r, "batchId", "batch")
	if err != nil {
		return err
	}
	b, err := s.cfg.Store.GetBatch(r.Context(), a.Org.ID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *Server) deleteBatch(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	id, err := pathID(r, "batchId", "batch")
	if err != nil {
		return err
	}
	if _, err := s.cfg.Store.GetBatch(r.Context(), a.Org.ID, id); err != nil {
		return err
	}
	if err := require(a, labelhub.PermManageProjects, "delete batches"); err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteBatch(r.Context(), a.Org.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
