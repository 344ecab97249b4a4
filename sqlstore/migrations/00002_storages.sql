-- +goose Up
-- Storage integrations. credentials holds the sealed (AES-GCM) JSON of the
-- secrets; credential_fields lists which are set, for reads.
CREATE TABLE storages (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    provider          TEXT NOT NULL,
    bucket            TEXT NOT NULL,
    region            TEXT NOT NULL DEFAULT '',
    endpoint          TEXT NOT NULL DEFAULT '',
    path_style        BOOLEAN NOT NULL DEFAULT FALSE,
    account_name      TEXT NOT NULL DEFAULT '',
    delivery          TEXT NOT NULL,
    signed_url_ttl    INTEGER NOT NULL,
    credential_fields TEXT NOT NULL,
    credentials       TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX storages_org ON storages(org_id, id);

-- +goose Down
DROP TABLE storages;
