-- +goose Up
-- Plugins, their presets, instances (live connections) and runs.
-- secret_hash and token_hash are SHA-256 hex of high-entropy secrets.
CREATE TABLE plugins (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    type           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    default_config TEXT NOT NULL DEFAULT '',
    secret_hash    TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX plugins_org ON plugins(org_id, id);

CREATE TABLE plugin_presets (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    plugin_id   TEXT NOT NULL REFERENCES plugins(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    config_json TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX plugin_presets_name ON plugin_presets(project_id, plugin_id, name);

CREATE TABLE plugin_runs (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    plugin_id        TEXT NOT NULL REFERENCES plugins(id) ON DELETE CASCADE,
    project_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    state            TEXT NOT NULL,
    config_json      TEXT NOT NULL DEFAULT '',
    params           TEXT NOT NULL DEFAULT '{}',
    attempts         INTEGER NOT NULL DEFAULT 0,
    result           TEXT,
    error            TEXT NOT NULL DEFAULT '',
    run_by           TEXT NOT NULL,
    token_hash       TEXT NOT NULL,
    progress_done    BIGINT NOT NULL DEFAULT 0,
    progress_total   BIGINT NOT NULL DEFAULT 0,
    progress_message TEXT NOT NULL DEFAULT '',
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    updated_at       BIGINT NOT NULL,
    instance_id      TEXT NOT NULL DEFAULT '',
    deadline         BIGINT NOT NULL
);
CREATE INDEX plugin_runs_project ON plugin_runs(project_id, id);
CREATE INDEX plugin_runs_state ON plugin_runs(state, plugin_id, id);
CREATE UNIQUE INDEX plugin_runs_token ON plugin_runs(token_hash);

CREATE TABLE plugin_run_logs (
    run_id  TEXT NOT NULL REFERENCES plugin_runs(id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    at      BIGINT NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL,
    attrs   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE plugin_instances (
    id           TEXT PRIMARY KEY,
    plugin_id    TEXT NOT NULL REFERENCES plugins(id) ON DELETE CASCADE,
    replica_id   TEXT NOT NULL,
    host         TEXT NOT NULL DEFAULT '',
    sdk_version  TEXT NOT NULL DEFAULT '',
    concurrency  INTEGER NOT NULL,
    connected_at BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL
);
CREATE INDEX plugin_instances_plugin ON plugin_instances(plugin_id, id);

-- +goose Down
DROP TABLE plugin_instances;
DROP TABLE plugin_run_logs;
DROP TABLE plugin_runs;
DROP TABLE plugin_presets;
DROP TABLE plugins;
