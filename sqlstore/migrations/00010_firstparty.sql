-- +goose Up
-- First-party plugins: one row per plugin for the whole server, visible
-- to every organisation. builtin is its first-party name ('' for the
-- plugins organisations register); the row's org_id is the root
-- organisation's, for the foreign keys only.
ALTER TABLE plugins ADD COLUMN builtin TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX plugins_builtin ON plugins(builtin) WHERE builtin <> '';

-- +goose Down
DROP INDEX plugins_builtin;
ALTER TABLE plugins DROP COLUMN builtin;
