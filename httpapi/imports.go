package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labelhub/labelhub"
	"github.com/labelhub/labelhub/storage"
	"github.com/labelhub/labelhub/storage/assetref"
)

func (s *Server) routesImports() {
	s.handle("POST", "/api/v1/projects/{projectId}/imports", s.createImport)
	s.handle("GET", "/api/v1/imports/{importId}", s.getImport)
	s.handle("GET", "/api/v1/imports/{importId}/errors", s.listImportErrors)
	s.handle("POST", "/api/v1/imports/{importId}/resume", s.resumeImport)
	s.handle("POST", "/api/v1/imports/{importId}/rollback", s.rollbackImport)
	s.handle("POST", "/api/v1/projects/{projectId}/labels", s.importLabels)
}

// StorageIntegrations gives the import runner the organisation's storage
// integrations, as the importer resolves item URLs with them.
func StorageIntegrations(svc *storage.Service) func(ctx context.Context, orgID string) (map[string]assetref.Integration, error) {
	return func(ctx context.Context, orgID string) (map[string]assetref.Integration, error) {
		out := map[string]assetref.Integration{}
		if svc == nil {
			return out, nil
		}
		p := labelhub.PageRequest{Limit: labelhub.MaxPageLimit}
		for {
			page, err := svc.List(ctx, orgID, p)
			if err != nil {
				return nil, err
			}
			for _, st := range page.Items {
				out[st.ID] = storage.IntegrationOf(st)
			}
			if page.NextCursor == "" {
				return out, nil
			}
			p.Cursor = page.NextCursor
		}
	}
}

// importStatus is the answer about an import: the import, its first page
// of errors, and importId (the id again, as the import request's answer
// names it).
type importStatus struct {
	ImportID string `json:"importId"`
	labelhub.Import
	// Probes counts the import's assets whose metadata probe is pending
	// or failed (package assetmeta), when the store can tell.
	Probes *importProbes `json:"probes,omitempty"`
}

type importProbes struct {
	Pending int64 `json:"pending"`
	Failed  int64 `json:"failed"`
}

// probeCounter is the store's count of an import's pending and failed probes.
type probeCounter interface {
	ImportProbeCounts(ctx context.Context, orgID, importID string) (pending, failed int64, err error)
}

func (s *Server) importsReady() error {
	if s.cfg.Imports == nil {
		return labelhub.Errorf(labelhub.ECodeUnavailable, "imports are not configured on this server")
	}
	return nil
}

func boolQuery(r *http.Request, name string, p *labelhub.Problems) bool {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.Add(name, "must be true or false, not %q", v)
	}
	return b
}

// status reads an import with its first page of errors.
func (s *Server) status(ctx context.Context, orgID, id string, limit int) (importStatus, error) {
	im, err := s.cfg.Store.GetImport(ctx, orgID, id)
	if err != nil {
		return importStatus{}, err
	}
	errs, err := s.cfg.Store.ListImportErrors(ctx, orgID, id, labelhub.PageRequest{Limit: limit})
	if err != nil {
		return importStatus{}, err
	}
	im.Errors, im.ErrorsNextCursor = errs.Items, errs.NextCursor
	st := importStatus{ImportID: im.ID, Import: im}
	if pc, ok := s.cfg.Store.(probeCounter); ok {
		pending, failed, err := pc.ImportProbeCounts(ctx, orgID, id)
		if err != nil {
			return importStatus{}, err
		}
		st.Probes = &importProbes{Pending: pending, Failed: failed}
	}
	return st, nil
}

func (s *Server) projectFor(r *http.Request, a labelhub.Actor) (labelhub.Project, error) {
	id, err := pathID(r, "projectId", "project")
	if err != nil {
		return labelhub.Project{}, err
	}
	return s.cfg.Store.GetProject(r.Context(), a.Org.ID, id)
}

// importTarget is the project an import goes into, once the caller may do
// what (e.g. "import assets") and the hub runs imports.
func (s *Server) importTarget(r *http.Request, a labelhub.Actor, what string) (labelhub.Project, error) {
	p, err := s.projectFor(r, a)
	if err != nil {
		return labelhub.Project{}, err
	}
	if err := require(a, labelhub.PermManageProjects, what); err != nil {
		return labelhub.Project{}, err
	}
	return p, s.importsReady()
}

func (s *Server) createImport(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, err := s.importTarget(r, a, "import assets")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var probs labelhub.Problems
	opts := labelhub.ImportOptions{StorageID: q.Get("storageId"), Batches: q["batches"], OnDuplicate: q.Get("onDuplicate"),
		CreateBatches: boolQuery(r, "createBatches", &probs), DryRun: boolQuery(r, "dryRun", &probs), Atomic: boolQuery(r, "atomic", &probs)}
	wait := boolQuery(r, "wait", &probs)
	if err := probs.Err("invalid import options"); err != nil {
		return err
	}
	im, err := s.cfg.Imports.Start(r.Context(), a.Org.ID, a.User.ID, p.ID, opts, r.Body)
	if err != nil {
		return err
	}
	return s.answerStarted(w, r, a, im.ID, wait)
}

func (s *Server) importID(r *http.Request, a labelhub.Actor) (string, error) {
	id, err := pathID(r, "importId", "import")
	if err != nil {
		return "", err
	}
	im, err := s.cfg.Store.GetImport(r.Context(), a.Org.ID, id)
	if err != nil {
		return "", err
	}
	if a.Scope != nil && im.ProjectID != a.Scope.ProjectID {
		return "", labelhub.NotFound("import") // a run token reaches its project's imports only
	}
	return id, nil
}

func (s *Server) getImport(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	id, err := s.importID(r, a)
	if err != nil {
		return err
	}
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	st, err := s.status(r.Context(), a.Org.ID, id, p.Limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) listImportErrors(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	id, err := s.importID(r, a)
	if err != nil {
		return err
	}
	// Error cursors are not id cursors: read limit and cursor here.
	p := labelhub.PageRequest{Cursor: r.URL.Query().Get("cursor")}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > labelhub.MaxPageLimit {
			return labelhub.Invalid("invalid page", labelhub.FieldError{Path: "limit", Message: "must be a whole number from 1 to 1000"})
		}
		p.Limit = n
	}
	page, err := s.cfg.Store.ListImportErrors(r.Context(), a.Org.ID, id, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) resumeImport(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	return s.importAction(w, r, a, "resume imports", func(ctx context.Context, id string) error {
		_, err := s.cfg.Imports.Resume(ctx, a.Org.ID, id)
		return err
	})
}

func (s *Server) rollbackImport(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	return s.importAction(w, r, a, "roll back imports", func(ctx context.Context, id string) error {
		_, err := s.cfg.Imports.Rollback(ctx, a.Org.ID, id)
		return err
	})
}

func (s *Server) importAction(w http.ResponseWriter, r *http.Request, a labelhub.Actor, what string, fn func(context.Context, string) error) error {
	id, err := s.importID(r, a)
	if err != nil {
		return err
	}
	if err := require(a, labelhub.PermManageProjects, what); err != nil {
		return err
	}
	if err := s.importsReady(); err != nil {
		return err
	}
	var probs labelhub.Problems
	wait := boolQuery(r, "wait", &probs)
	if err := probs.Err("invalid options"); err != nil {
		return err
	}
	if err := fn(r.Context(), id); err != nil {
		return err
	}
	status := http.StatusAccepted
	if wait {
		if err := s.cfg.Imports.Wait(r.Context(), id); err != nil {
			return err
		}
		status = http.StatusOK
	}
	st, err := s.status(r.Context(), a.Org.ID, id, labelhub.DefaultPageLimit)
	if err != nil {
		return err
	}
	writeJSON(w, status, st)
	return nil
}

func (s *Server) importLabels(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, err := s.importTarget(r, a, "import labels")
	if err != nil {
		return err
	}
	im, err := s.cfg.Imports.ImportLabels(r.Context(), a.Org.ID, a.User.ID, p.ID, r.Body)
	if err != nil {
		return err
	}
	st, err := s.status(r.Context(), a.Org.ID, im.ID, labelhub.DefaultPageLimit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// answerStarted answers the start of an import: 202 with its status, or,
// with wait, 200 once it is done.
func (s *Server) answerStarted(w http.ResponseWriter, r *http.Request, a labelhub.Actor, id string, wait bool) error {
	status := http.StatusAccepted
	if wait {
		if err := s.cfg.Imports.Wait(r.Context(), id); err != nil {
			return err
		}
		status = http.StatusOK
	}
	st, err := s.status(context.WithoutCancel(r.Context()), a.Org.ID, id, labelhub.DefaultPageLimit)
	if err != nil {
		return err
	}
	writeJSON(w, status, st)
	return nil
}
