package sqlstore

import (
	"context"
	"database/sql"

	"github.com/labelhub/labelhub"
)

// presetConflict is the error of a second preset with a name.
func presetConflict(name string) error {
	return labelhub.Errorf(labelhub.ECodeConflict, "a preset named %q exists already for this plugin in this project", name)
}

// CreatePreset implements labelhub.PresetStore.
func (s *Store) CreatePreset(ctx context.Context, orgID, userID, projectID, pluginID string, in labelhub.PresetInput) (labelhub.Preset, error) {
	if err := in.Validate(true); err != nil {
		return labelhub.Preset{}, err
	}
	if _, err := s.GetProject(ctx, orgID, projectID); err != nil {
		return labelhub.Preset{}, err
	}
	if _, err := s.GetPlugin(ctx, orgID, pluginID); err != nil {
		return labelhub.Preset{}, err
	}
	t := now()
	p := labelhub.Preset{ID: labelhub.NewID(), ProjectID: projectID, PluginID: pluginID, Name: *in.Name, ConfigJSON: *in.ConfigJSON,
		CreatedBy: userID, CreatedAt: t, UpdatedAt: t}
	_, err := s.db.ExecContext(ctx, `INSERT INTO plugin_presets (`+presetColumns+`, org_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.ID, projectID, pluginID, p.Name, p.ConfigJSON, userID, micros(t), micros(t), orgID)
	if isUnique(err) {
		return labelhub.Preset{}, presetConflict(p.Name)
	}
	return p, err
}

// GetPreset implements labelhub.PresetStore.
func (s *Store) GetPreset(ctx context.Context, orgID, id string) (labelhub.Preset, error) {
	p, err := scanPreset(s.db.QueryRowContext(ctx, `SELECT `+presetColumns+` FROM plugin_presets WHERE org_id = $1 AND id = $2`, orgID, id))
	return p, notFound(err, "preset")
}

// UpdatePreset implements labelhub.PresetStore.
func (s *Store) UpdatePreset(ctx context.Context, orgID, id string, in labelhub.PresetInput) (labelhub.Preset, error) {
	if err := in.Validate(false); err != nil {
		return labelhub.Preset{}, err
	}
	var p labelhub.Preset
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = scanPreset(tx.QueryRowContext(ctx, `SELECT `+presetColumns+` FROM plugin_presets WHERE org_id = $1 AND id = $2`, orgID, id))
		if err != nil {
			return notFound(err, "preset")
		}
		if in.Name != nil {
			p.Name = *in.Name
		}
		if in.ConfigJSON != nil {
			p.ConfigJSON = *in.ConfigJSON
		}
		p.UpdatedAt = now()
		_, err = tx.ExecContext(ctx, `UPDATE plugin_presets SET name = $1, config_json = $2, updated_at = $3 WHERE org_id = $4 AND id = $5`,
			p.Name, p.ConfigJSON, micros(p.UpdatedAt), orgID, id)
		if isUnique(err) {
			return presetConflict(p.Name)
		}
		return err
	})
	return p, err
}

var _ labelhub.PresetStore = (*Store)(nil)
