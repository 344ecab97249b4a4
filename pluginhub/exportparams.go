package pluginhub

import (
	"context"
	"encoding/json"

	"github.com/labelhub/labelhub"
)

// exportParamser is implemented by stores that check the params of a run
// of an export plugin and set their numTasks (sqlstore.Store).
type exportParamser interface {
	ExportRunParams(ctx context.Context, orgID, projectID string, params json.RawMessage) (json.RawMessage, error)
}

// exportParams checks and completes r.Params when the plugin is an export
// plugin and the store can. The plugin's type comes from the local
// connection c when there is one (no read), else from the store. When the
// store is an exportRunCreator, numTasks is left to the insert of the run:
// exportParams returns the filter to count then (nil: none).
func (h *Hub) exportParams(ctx context.Context, a labelhub.Actor, pluginID string, c *conn, r *labelhub.Run) (*labelhub.ExportFilter, error) {
	ep, ok := h.store.(exportParamser)
	ec, counts := h.store.(exportRunCreator)
	counts = counts && ec.CountsExportRuns()
	if !ok && !counts {
		return nil, nil
	}
	var typ labelhub.PluginType
	if c != nil && c.plugin.ID == pluginID && c.plugin.OrgID == a.Org.ID {
		typ = c.plugin.Type
	} else {
		p, err := h.store.GetPlugin(ctx, a.Org.ID, pluginID)
		if err != nil {
			return nil, err
		}
		typ = p.Type
	}
	if typ != labelhub.PluginExport {
		return nil, nil
	}
	if counts {
		params, f, err := ec.ExportRunFilter(ctx, a.Org.ID, r.ProjectID, r.Params)
		if err != nil {
			return nil, err
		}
		r.Params = params
		return &f, nil
	}
	params, err := ep.ExportRunParams(ctx, a.Org.ID, r.ProjectID, r.Params)
	if err != nil {
		return nil, err
	}
	r.Params = params
	return nil, nil
}
