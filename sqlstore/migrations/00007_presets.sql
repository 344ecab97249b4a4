-- +goose Up
-- Presets are listed per project and plugin in id order (keyset pages);
-- the name index of 00004 serves lookups by name, this one the lists.
CREATE INDEX plugin_presets_list ON plugin_presets(project_id, plugin_id, id);

-- +goose Down
DROP INDEX plugin_presets_list;
