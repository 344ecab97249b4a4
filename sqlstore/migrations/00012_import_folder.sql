-- +goose Up
-- Folder imports (docs/imports.md, "Folder imports"): the objects listed
-- and those that were no asset type, committed with each batch like the
-- other counts, and the last object key committed, after which a resumed
-- folder import goes on listing.
ALTER TABLE imports ADD COLUMN listed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN skipped_not_asset BIGINT NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN resume_key TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE imports DROP COLUMN resume_key;
ALTER TABLE imports DROP COLUMN skipped_not_asset;
ALTER TABLE imports DROP COLUMN listed;
