-- Up Migration
-- The operator's task list (GET /api/tasks) pages newest first by (created_at, id), keys that never
-- change: this index serves each page as a range scan, however far down the listing goes.
CREATE INDEX tasks_created_idx ON tasks (created_at DESC, id DESC);

-- Down Migration
DROP INDEX tasks_created_idx;
