package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/labelhub/labelhub"
)

// PresetInput names a Config JSON; both fields are required to create, and
// on update nil fields stay.
type PresetInput = labelhub.PresetInput

func presetsPath(projectID, pluginID string) string {
	return "/api/v1/projects/" + url.PathEscape(projectID) + "/plugins/" + url.PathEscape(pluginID) + "/presets"
}

// ListPresets returns one page of a plugin's presets in a project, oldest
// first.
func (c *Client) ListPresets(ctx context.Context, projectID, pluginID string, p labelhub.PageRequest) (labelhub.Page[labelhub.Preset], error) {
	return list[labelhub.Preset](ctx, c, presetsPath(projectID, pluginID), p, nil)
}

// CreatePreset saves a named Config JSON (admins and project managers); a
// name the project and plugin have already is a conflict.
func (c *Client) CreatePreset(ctx context.Context, projectID, pluginID string, in PresetInput) (labelhub.Preset, error) {
	var out labelhub.Preset
	err := c.do(ctx, http.MethodPost, presetsPath(projectID, pluginID), nil, in, &out)
	return out, err
}

// GetPreset returns one preset.
func (c *Client) GetPreset(ctx context.Context, id string) (labelhub.Preset, error) {
	var out labelhub.Preset
	err := c.do(ctx, http.MethodGet, "/api/v1/presets/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// UpdatePreset renames a preset or replaces its Config JSON.
func (c *Client) UpdatePreset(ctx context.Context, id string, in PresetInput) (labelhub.Preset, error) {
	var out labelhub.Preset
	err := c.do(ctx, http.MethodPatch, "/api/v1/presets/"+url.PathEscape(id), nil, in, &out)
	return out, err
}

// DeletePreset deletes a preset.
func (c *Client) DeletePreset(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/presets/"+url.PathEscape(id), nil, nil, nil)
}
