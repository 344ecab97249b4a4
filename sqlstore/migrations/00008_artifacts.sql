-- +goose Up
-- The result file of a plugin run (one per run). The bytes are in the
-- artifact store under blob_key; expired_at is set when the sweeper has
-- deleted them, so that a download can say "expired" instead of "not found".
CREATE TABLE plugin_run_artifacts (
    run_id       TEXT PRIMARY KEY REFERENCES plugin_runs(id) ON DELETE CASCADE,
    org_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    blob_key     TEXT NOT NULL,
    name         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    expired_at   BIGINT
);
CREATE INDEX plugin_run_artifacts_expiry ON plugin_run_artifacts(expires_at, run_id);

-- +goose Down
DROP TABLE plugin_run_artifacts;
