package httpapi

import (
	"net/http"
	"strconv"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/storage/assetref"
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
	if as.StorageID == "" {
		ref, err := assetref.Resolve(u, nil)
		if err != nil || !ref.Public {
			// Inline text of a text asset.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Content-Security-Policy", "sandbox")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(u))
			return nil
		}
		http.Redirect(w, r, u, http.StatusFound)
		return nil
	}
	if s.cfg.Storage == nil {
		return labelhub.Errorf(labelhub.ECodeUnavailable, "storage integrations are not configured on this server")
	}
	b, err := s.cfg.Storage.Bucket(r.Context(), a.Org.ID, as.StorageID)
	if err != nil {
		return err
	}
	in := storage.IntegrationOf(b.Storage)
	ref, err := assetref.Resolve(u, &in)
	if err != nil {
		return labelhub.Errorf(labelhub.ECodeConflict, "the asset's URL no longer matches its storage integration: %v", err)
	}
	if b.Storage.Delivery == labelhub.DeliveryProxy {
		b.Proxy(w, r, ref.Key)
		return nil
	}
	signed, err := b.SignedURL(r.Context(), ref.Key, 0)
	if err != nil {
		return err
	}
	http.Redirect(w, r, signed, http.StatusFound)
	return nil
}
