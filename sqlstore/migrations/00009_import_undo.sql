-- +goose Up
-- What a rollback needs to undo besides the assets an import added: the
-- state of each existing asset an import changed (onDuplicate=update, or
-- the task answer set by pre-labels or a label import), written in the
-- transaction of the change, once per import and asset (the first, so the
-- state before the import), and the batch links it added to existing
-- assets. asset_set / answer_set say which part the import changed.
CREATE TABLE import_undo (
    import_id   TEXT NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    asset_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    data        TEXT NOT NULL,
    doc         TEXT NOT NULL,
    storage_id  TEXT NOT NULL,
    probe_state TEXT NOT NULL,
    probe_error TEXT NOT NULL,
    answer      TEXT NOT NULL,
    asset_set   BOOLEAN NOT NULL,
    answer_set  BOOLEAN NOT NULL,
    PRIMARY KEY (import_id, asset_id)
);

CREATE TABLE import_undo_links (
    import_id TEXT NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    batch_id  TEXT NOT NULL,
    asset_id  TEXT NOT NULL,
    PRIMARY KEY (import_id, batch_id, asset_id)
);

-- The externalIds a dry run (or the validation pass of an atomic import)
-- has seen so far, committed with its progress so that duplicates between
-- batches of one file are found as a real run finds them, with no memory
-- growing with the file; emptied when the pass ends.
CREATE TABLE import_seen (
    import_id   TEXT NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    PRIMARY KEY (import_id, external_id)
);

-- +goose Down
DROP TABLE import_seen;
DROP TABLE import_undo_links;
DROP TABLE import_undo;
