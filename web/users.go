package web

import (
	"net/http"
	"strings"

	"github.com/labelhub/labelhub"
)

type userForm struct {
	Email, Name string
	Role        labelhub.Role
	Err         *formErr
}

type usersView struct {
	Users      []labelhub.User
	NextCursor string
	Paged      bool
	Form       userForm
}

func (s *server) usersPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return s.showUsers(w, r, c, http.StatusOK, userForm{Role: labelhub.RoleLabeler})
}

func (s *server) showUsers(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, form userForm) error {
	cursor := r.URL.Query().Get("cursor")
	page, err := s.cfg.Store.ListUsers(r.Context(), c.actor.Org.ID, labelhub.PageRequest{Limit: pageSize, Cursor: cursor})
	if err != nil {
		return err
	}
	s.render(w, r, status, "users", c, "Users", "users", usersView{Users: page.Items, NextCursor: page.NextCursor, Paged: cursor != "", Form: form})
	return nil
}

func (s *server) createUser(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if !c.can(labelhub.PermManageUsers) {
		return forbidden(c, "create users")
	}
	form := userForm{
		Email: strings.TrimSpace(r.PostForm.Get("email")),
		Name:  strings.TrimSpace(r.PostForm.Get("name")),
		Role:  labelhub.Role(r.PostForm.Get("role")),
	}
	// The password is never echoed back into the form.
	_, err := s.cfg.Store.CreateUser(r.Context(), c.actor.Org.ID, labelhub.NewUser{
		Email: form.Email, Name: form.Name, Role: form.Role, Password: r.PostForm.Get("password"),
	})
	if err != nil {
		fe, ok := asFormErr(err)
		if !ok {
			return err
		}
		form.Err = fe
		return s.showUsers(w, r, c, http.StatusUnprocessableEntity, form)
	}
	s.redirectWithFlash(w, r, "/users", "user-created")
	return nil
}

type apiKeysView struct {
	Keys       []labelhub.APIKey
	NextCursor string
	Paged      bool
	FormName   string
	Err        *formErr
	// NewKey is the secret of the key just created, shown this once.
	NewKey     string
	NewKeyName string
}

func (s *server) apiKeysPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return s.showAPIKeys(w, r, c, http.StatusOK, apiKeysView{})
}

func (s *server) showAPIKeys(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, v apiKeysView) error {
	cursor := r.URL.Query().Get("cursor")
	page, err := s.cfg.Store.ListAPIKeys(r.Context(), c.actor.Org.ID, c.actor.User.ID, labelhub.PageRequest{Limit: pageSize, Cursor: cursor})
	if err != nil {
		return err
	}
	v.Keys, v.NextCursor, v.Paged = page.Items, page.NextCursor, cursor != ""
	s.render(w, r, status, "apikeys", c, "API keys", "api-keys", v)
	return nil
}

func (s *server) createAPIKey(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	var v apiKeysView
	if name == "" {
		v.Err = &formErr{Message: "invalid API key", Details: []labelhub.FieldError{{Path: "name", Message: "is required"}}}
	} else if len(name) > labelhub.MaxNameLength {
		v.Err = &formErr{Message: "invalid API key", Details: []labelhub.FieldError{{Path: "name", Message: "is too long"}}}
	}
	if v.Err != nil {
		v.FormName = name
		return s.showAPIKeys(w, r, c, http.StatusUnprocessableEntity, v)
	}
	key, secret, err := s.cfg.Store.CreateAPIKey(r.Context(), c.actor.Org.ID, c.actor.User.ID, name)
	if err != nil {
		fe, ok := asFormErr(err)
		if !ok {
			return err
		}
		v.Err, v.FormName = fe, name
		return s.showAPIKeys(w, r, c, http.StatusUnprocessableEntity, v)
	}
	// Shown in this response only (no redirect: the secret is not kept).
	v.NewKey, v.NewKeyName = secret, key.Name
	return s.showAPIKeys(w, r, c, http.StatusOK, v)
}

func (s *server) revokeAPIKey(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id := r.PathValue("apiKeyId")
	if !labelhub.ValidID(id) {
		return labelhub.NotFound("API key")
	}
	k, err := s.cfg.Store.GetAPIKey(r.Context(), c.actor.Org.ID, id)
	if err != nil {
		return err
	}
	// This page manages one's own keys; another user's key is not found.
	if k.UserID != c.actor.User.ID {
		return labelhub.NotFound("API key")
	}
	if err := s.cfg.Store.RevokeAPIKey(r.Context(), c.actor.Org.ID, id); err != nil {
		return err
	}
	s.redirectWithFlash(w, r, "/api-keys", "key-revoked")
	return nil
}
