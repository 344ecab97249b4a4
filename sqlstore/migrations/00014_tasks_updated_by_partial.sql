-- +goose Up
-- Only tasks someone has written are in the index of the updatedBy
-- filter: an imported task (updated_by '') is never looked up by it, and
-- leaving it out saves an index entry per imported task. ListTasks adds
-- updated_by <> '' to the filter so that the planner may use the index.
DROP INDEX tasks_updated_by;
CREATE INDEX tasks_updated_by ON tasks(project_id, updated_by, id) WHERE updated_by <> '';

-- +goose Down
DROP INDEX tasks_updated_by;
CREATE INDEX tasks_updated_by ON tasks(project_id, updated_by, id);
