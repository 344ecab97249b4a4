-- +goose Up
-- Task workflow: when a task entered its stage, the time spent in stages
-- it left, and the history of its moves (one row per submit or reject,
-- with a snapshot of the answer) in its own table so that exports can
-- stream it. Indexes serve the task list's filters in id order.
ALTER TABLE tasks ADD COLUMN stage_entered_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN total_duration_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX tasks_project ON tasks(project_id, id);
CREATE INDEX tasks_updated_by ON tasks(project_id, updated_by, id);
CREATE INDEX tasks_updated_at ON tasks(project_id, updated_at);

CREATE TABLE task_history (
    task_id      TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    org_id       TEXT NOT NULL,
    project_id   TEXT NOT NULL,
    action       TEXT NOT NULL,
    stage_id     TEXT NOT NULL,
    stage_name   TEXT NOT NULL,
    to_stage_id  TEXT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    completed_at BIGINT NOT NULL,
    completed_by TEXT NOT NULL,
    answer       TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
);

-- +goose Down
DROP TABLE task_history;
DROP INDEX tasks_updated_at;
DROP INDEX tasks_updated_by;
DROP INDEX tasks_project;
ALTER TABLE tasks DROP COLUMN total_duration_ms;
ALTER TABLE tasks DROP COLUMN stage_entered_at;
