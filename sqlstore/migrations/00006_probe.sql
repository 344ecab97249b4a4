-- +goose Up
-- The metadata probe's queue is the assets table itself: an asset with
-- probe_state 'pending' is due when probe_next (microseconds) has passed.
-- A worker claims a due asset by moving probe_next to the end of its lease
-- and writing its claim token; a claim abandoned by a process that died
-- is due again when the lease ends. probe_attempts counts the transient
-- failures of the current round (for the bounded retries).
ALTER TABLE assets ADD COLUMN probe_next BIGINT NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN probe_claim TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN probe_attempts INTEGER NOT NULL DEFAULT 0;
-- "Next due" is a range scan of a partial index that holds only the
-- pending assets: cheap at millions of assets, empty when idle.
CREATE INDEX assets_probe_due ON assets(probe_next, id) WHERE probe_state = 'pending';
-- Pending and failed probes of one import, for its status.
CREATE INDEX assets_probe_import ON assets(import_id, probe_state) WHERE probe_state IN ('pending', 'failed');

-- +goose Down
DROP INDEX assets_probe_import;
DROP INDEX assets_probe_due;
ALTER TABLE assets DROP COLUMN probe_attempts;
ALTER TABLE assets DROP COLUMN probe_claim;
ALTER TABLE assets DROP COLUMN probe_next;
