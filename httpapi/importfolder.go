package httpapi

import (
	"context"
	"net/http"

	"github.com/labelhub/labelhub"
)

// maxFolderImportBody bounds a folder import's body: up to
// labelhub.MaxFolderImportFiles keys of up to 1,024 bytes.
const maxFolderImportBody = 12 << 20

func (s *Server) routesImportFolder() {
	s.handle("POST", "/api/v1/projects/{projectId}/imports/folder", s.createFolderImport)
	s.handle("POST", "/api/v1/imports/{importId}/cancel", s.cancelImport)
}

// createFolderImport starts a folder import (docs/imports.md, "Folder
// imports"): 202 with the import at once, or with wait=true 200 when it
// is done.
func (s *Server) createFolderImport(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	p, err := s.importTarget(r, a, "import assets")
	if err != nil {
		return err
	}
	var probs labelhub.Problems
	wait := boolQuery(r, "wait", &probs)
	if err := probs.Err("invalid import options"); err != nil {
		return err
	}
	var req labelhub.FolderImportRequest
	if err := decode(r, w, max(s.cfg.MaxBodyBytes, maxFolderImportBody), &req); err != nil {
		return err
	}
	if a.Scope != nil && a.Scope.IntegrationID != "" && req.StorageID != a.Scope.IntegrationID {
		// A file explorer's run token reaches its run's integration only.
		return labelhub.Invalid("invalid folder import", labelhub.FieldError{Path: "storageId", Message: "must be the run's storage integration"})
	}
	im, err := s.cfg.Imports.StartFolder(r.Context(), a.Org.ID, a.User.ID, p.ID, req)
	if err != nil {
		return err
	}
	return s.answerStarted(w, r, a, im.ID, wait)
}

// cancelImport stops a running import at a batch boundary; what it
// committed stays.
func (s *Server) cancelImport(w http.ResponseWriter, r *http.Request, a labelhub.Actor) error {
	return s.importAction(w, r, a, "cancel imports", func(ctx context.Context, id string) error {
		_, err := s.cfg.Imports.Cancel(ctx, a.Org.ID, id)
		return err
	})
}
