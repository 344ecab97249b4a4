package web

// The export page of a project: a plain GET form (format, stage, batch,
// history, item metadata) to the API's streamed export route, which
// accepts the web session for GET, so the browser downloads the file as
// the hub writes it.

import (
	"net/http"

	"github.com/labelhub/labelhub"
)

func init() {
	pageNames = append(pageNames, "export")
}

type exportView struct {
	Project labelhub.Project
	Tab     string
	Stages  []labelhub.Stage
	Batches []labelhub.Batch
}

func (s *server) routesExport() {
	s.mux.HandleFunc("GET /projects/{projectId}/export", s.page(s.exportPage))
}

func (s *server) exportPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, err := s.loadProject(r, c)
	if err != nil {
		return err
	}
	v := exportView{Project: p, Tab: "overview"}
	if ts, err := s.tasks(); err == nil {
		if v.Stages, err = ts.Workflow(r.Context(), c.actor.Org.ID, p.ID); err != nil {
			return err
		}
	}
	batches, err := s.cfg.Store.ListBatches(r.Context(), c.actor.Org.ID, p.ID, labelhub.PageRequest{Limit: labelhub.MaxPageLimit})
	if err != nil {
		return err
	}
	v.Batches = batches.Items
	s.render(w, r, http.StatusOK, "export", c, "Export "+p.Name, "projects", v)
	return nil
}
