package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage"
)

func (s *Server) routesStorages() {
	s.handle("POST", "/api/v1/storages", s.createStorage)
	s.handle("GET", "/api/v1/storages", s.listStorages)
	s.handle("GET", "/api/v1/storages/{storageId}", s.getStorage)
	s.handle("DELETE", "/api/v1/storages/{storageId}", s.deleteStorage)
	s.handle("POST", "/api/v1/storages/{storageId}/validate", s.validateStorage)
	s.handle("GET", "/api/v1/storages/{storageId}/objects", s.listObjects)
}

func (s *Server) createStorage(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	if err := require(a, labelhub.PermManageStorage, "manage storage integrations"); err != nil {
		return err
	}
	var in labelhub.StorageInput
	if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	st, err := s.cfg.Storage.Create(r.Context(), a.Org.ID, a.User.ID, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, st)
	return nil
}

func (s *Server) listStorages(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	return list(w, r, func(p labelhub.PageRequest) (labelhub.Page[labelhub.Storage], error) {
		return s.cfg.Storage.List(r.Context(), a.Org.ID, p)
	})
}

// storageOf returns the path's integration of the caller's organisation.
func (s *Server) storageOf(r *http.Request, a labelhub.Actor) (labelhub.Storage, error) {
	id, err := pathID(r, "storageId", "storage integration")
	if err != nil {
		return labelhub.Storage{}, err
	}
	return s.cfg.Storage.Get(r.Context(), a.Org.ID, id)
}

func (s *Server) getStorage(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	st, err := s.storageOf(r, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) deleteStorage(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	st, err := s.storageOf(r, a)
	if err != nil {
		return err
	}
	if err := require(a, labelhub.PermManageStorage, "manage storage integrations"); err != nil {
		return err
	}
	if err := s.cfg.Storage.Delete(r.Context(), a.Org.ID, st.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type validateInput struct {
	// Origin is the web origin whose GETs the bucket's CORS rules must
	// allow; by default the origin this request was sent to.
	Origin string `json:"origin"`
}

func (s *Server) validateStorage(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	st, err := s.storageOf(r, a)
	if err != nil {
		return err
	}
	if err := require(a, labelhub.PermManageStorage, "validate storage integrations"); err != nil {
		return err
	}
	var in validateInput
	if r.ContentLength != 0 {
		if err := decode(r, w, s.cfg.MaxBodyBytes, &in); err != nil {
			return err
		}
	}
	if in.Origin == "" {
		in.Origin = requestOrigin(r)
	}
	v, err := s.cfg.Storage.Validate(r.Context(), a.Org.ID, st.ID, in.Origin)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// requestOrigin is the origin a browser would send from the hub's pages.
func requestOrigin(r *http.Request) string {
	if o := r.Header.Get("Origin"); o != "" {
		return o
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// objectItem is one entry of a folder listing.
type objectItem struct {
	Type       string             `json:"type"` // "folder" or "file"
	Key        string             `json:"key"`
	Size       int64              `json:"size,omitempty"`
	ModTime    *time.Time         `json:"modTime,omitempty"`
	AssetType  labelhub.AssetType `json:"assetType,omitempty"`
	ValidAsset bool               `json:"validAsset"`
}

func (s *Server) listObjects(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	st, err := s.storageOf(r, a)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if d := q.Get("delimiter"); d != "" && d != "/" {
		return labelhub.Invalid("invalid listing", labelhub.FieldError{Path: "delimiter", Message: `only "/" is supported`})
	}
	limit := storage.DefaultPageSize
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > labelhub.MaxPageLimit {
			return labelhub.Invalid("invalid listing", labelhub.FieldError{Path: "limit", Message: "must be a whole number from 1 to 1000"})
		}
		limit = n
	}
	b, err := s.cfg.Storage.Bucket(r.Context(), a.Org.ID, st.ID)
	if err != nil {
		return err
	}
	folder, err := b.ListFolder(r.Context(), q.Get("prefix"), q.Get("cursor"), limit)
	if err != nil {
		return cursorError(err)
	}
	items := make([]objectItem, 0, len(folder.Folders)+len(folder.Files))
	for _, f := range folder.Folders {
		items = append(items, objectItem{Type: "folder", Key: f})
	}
	for _, f := range folder.Files {
		t := labelhub.AssetTypeOf(f.Key, f.ContentType)
		mod := f.ModTime
		items = append(items, objectItem{Type: "file", Key: f.Key, Size: f.Size, ModTime: &mod, AssetType: t, ValidAsset: t != ""})
	}
	writeJSON(w, http.StatusOK, labelhub.Page[objectItem]{Items: items, NextCursor: folder.NextPageToken})
	return nil
}

// cursorError names the query parameter in a refused page token: the
// storage package calls it pageToken, the API cursor.
func cursorError(err error) error {
	var e *labelhub.Error
	if !errors.As(err, &e) || e.Code != labelhub.ECodeInvalid {
		return err
	}
	out := *e
	out.Details = append([]labelhub.FieldError(nil), e.Details...)
	for i := range out.Details {
		if out.Details[i].Path == "pageToken" {
			out.Details[i].Path = "cursor"
		}
	}
	return &out
}
