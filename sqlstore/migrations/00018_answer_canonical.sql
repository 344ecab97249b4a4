-- +goose Up
-- answer_canonical is true when the stored answer is already in the form
-- the export writes (CanonicalAnswer): the export then copies it, mapping
-- only its user ids to emails, instead of checking every token. Every
-- write of an answer sets it; rows written before are false and checked
-- as before.
ALTER TABLE tasks ADD COLUMN answer_canonical BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE task_history ADD COLUMN answer_canonical BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE task_history DROP COLUMN answer_canonical;
ALTER TABLE tasks DROP COLUMN answer_canonical;
