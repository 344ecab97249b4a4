package httpapi

import (
	"net/http"
	"strconv"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage"
)

func (s *Server) routesAssets() {
	s.handle("GET", "/api/v1/projects/{projectId}/assets", s.listAssets)
	s.handle("GET", "/api/v1/assets/{assetId}", s.getAsset)
	s.handle("GET", "/api/v1/assets/{assetId}/content", s.assetContent)
}

func (s *Server) listAssets(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, err := s.projectFor(r, a)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := labelhub.AssetFilter{ExternalID: q.Get("externalId"), Type: labelhub.AssetType(q.Get("type"))}
	if b := q.Get("batch"); b != "" {
		found, err := s.cfg.Store.ResolveBatches(r.Context(), a.Org.ID, p.ID, []string{b})
		if err != nil {
			return err
		}
		if f.BatchID = found[b]; f.BatchID == "" {
			return labelhub.Invalid("invalid filter", labelhub.FieldError{Path: "batch", Message: "names no batch (by id or name) of this project"})
		}
	}
	return list(w, r, func(pr labelhub.PageRequest) (labelhub.Page[labelhub.Asset], error) {
		return s.cfg.Store.ListAssets(r.Context(), a.Org.ID, p.ID, f, pr)
	})
}

func (s *Server) assetOf(r *http.Request, a labelhub.Actor) (labelhub.Asset, error) {
	id, err := pathID(r, "assetId", "asset")
	if err != nil {
		return labelhub.Asset{}, err
	}
	return s.cfg.Store.GetAsset(r.Context(), a.Org.ID, id)
}

func (s *Server) getAsset(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	as, err := s.assetOf(r, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, as)
	return nil
}

// assetContent sends the browser to the asset's bytes: a 302 to a signed
// URL of the integration's bucket, the bytes themselves when the
// integration's delivery is "proxy", or a 302 to a public URL. ?page=N
// picks a page of a multi-page asset; inline text is answered as text.
func (s *Server) assetContent(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	as, err := s.assetOf(r, a)
	if err != nil {
		return err
	}
	u := as.Data
	if len(as.Dataset) > 0 {
		page := 0
		if v := r.URL.Query().Get("page"); v != "" {
			if page, err = strconv.Atoi(v); err != nil || page < 0 || page >= len(as.Dataset) {
				return labelhub.Invalid("invalid page", labelhub.FieldError{Path: "page", Message: "must be a page number from 0 to " + strconv.Itoa(len(as.Dataset)-1)})
			}
		}
		u = as.Dataset[page]
	}
	src, err := storage.ResolveAsset(r.Context(), s.cfg.Storage, a.Org.ID, as.StorageID, u)
	if err != nil {
		return err
	}
	switch {
	case src.Text:
		// Inline text of a text asset.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "sandbox")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(u))
		return nil
	case src.Bucket == nil:
		http.Redirect(w, r, src.Public, http.StatusFound)
		return nil
	case src.Bucket.Storage.Delivery == labelhub.DeliveryProxy:
		src.Bucket.Proxy(w, r, src.Key)
		return nil
	}
	signed, err := src.FetchURL(r.Context(), 0)
	if err != nil {
		return err
	}
	http.Redirect(w, r, signed, http.StatusFound)
	return nil
}
