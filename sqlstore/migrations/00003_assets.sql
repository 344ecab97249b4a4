-- +goose Up
-- Assets, their tasks and batch links, and import jobs. One compact JSON
-- document (doc) holds dataset/metadata/contextData/attachments/editorType
-- exactly as given, so that exports can pass it through.
ALTER TABLE projects ADD COLUMN workflow TEXT NOT NULL DEFAULT '';

CREATE TABLE assets (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    type        TEXT NOT NULL,
    data        TEXT NOT NULL,
    doc         TEXT NOT NULL,
    storage_id  TEXT NOT NULL DEFAULT '',
    import_id   TEXT NOT NULL DEFAULT '',
    probe_state TEXT NOT NULL DEFAULT 'none',
    probe_error TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX assets_project ON assets(project_id, id);
CREATE INDEX assets_external ON assets(project_id, external_id);
CREATE INDEX assets_import ON assets(import_id);

CREATE TABLE asset_batches (
    batch_id   TEXT NOT NULL,
    asset_id   TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    project_id TEXT NOT NULL,
    PRIMARY KEY (batch_id, asset_id)
);
CREATE INDEX asset_batches_asset ON asset_batches(asset_id);

CREATE TABLE tasks (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    project_id TEXT NOT NULL,
    asset_id   TEXT NOT NULL UNIQUE REFERENCES assets(id) ON DELETE CASCADE,
    stage_id   TEXT NOT NULL,
    answer     TEXT NOT NULL DEFAULT '',
    version    INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tasks_stage ON tasks(project_id, stage_id, id);

-- An import job. next_index is the first item index not yet committed;
-- runner and heartbeat_at say which process works on a running import.
CREATE TABLE imports (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL DEFAULT 'assets',
    state        TEXT NOT NULL,
    options      TEXT NOT NULL,
    received     BIGINT NOT NULL DEFAULT 0,
    valid        BIGINT NOT NULL DEFAULT 0,
    imported     BIGINT NOT NULL DEFAULT 0,
    updated      BIGINT NOT NULL DEFAULT 0,
    skipped      BIGINT NOT NULL DEFAULT 0,
    invalid      BIGINT NOT NULL DEFAULT 0,
    error_count  BIGINT NOT NULL DEFAULT 0,
    next_index   BIGINT NOT NULL DEFAULT 0,
    bytes        BIGINT NOT NULL DEFAULT 0,
    uploaded     BOOLEAN NOT NULL DEFAULT FALSE,
    phase        TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    spool        TEXT NOT NULL DEFAULT '',
    runner       TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL DEFAULT 0,
    finished_at  BIGINT
);
CREATE INDEX imports_project ON imports(project_id, id);
CREATE INDEX imports_state ON imports(state);

CREATE TABLE import_errors (
    import_id  TEXT NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    item_index BIGINT NOT NULL,
    line       BIGINT NOT NULL,
    path       TEXT NOT NULL,
    message    TEXT NOT NULL,
    PRIMARY KEY (import_id, seq)
);

-- +goose Down
DROP TABLE import_errors;
DROP TABLE imports;
DROP TABLE tasks;
DROP TABLE asset_batches;
DROP TABLE assets;
ALTER TABLE projects DROP COLUMN workflow;
