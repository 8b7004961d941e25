-- Up Migration
-- Emergency overrides (docs/overrides.md): one row per executed override. `state` moves once from
-- active to undone or expired, by a conditional UPDATE, so an expiry seen by every replica ends it once.
CREATE TABLE overrides (
  id uuid PRIMARY KEY,
  action text NOT NULL CHECK (action IN ('stop_all_tasks', 'restart_all_agents', 'clear_task_queue', 'system_maintenance')),
  state text NOT NULL CHECK (state IN ('active', 'done', 'undone', 'expired')),
  reason text NOT NULL,
  actor text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  ended_at timestamptz,
  ended_by text,
  impact jsonb NOT NULL DEFAULT '{}'::jsonb,
  data jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX overrides_active_idx ON overrides (action, expires_at) WHERE state = 'active';
CREATE INDEX overrides_started_idx ON overrides (started_at);

-- clear_task_queue parks queued tasks as `archived` (nothing is deleted) and keeps each task's full
-- row as it was, so a restore puts back exactly what was cleared.
ALTER TABLE tasks DROP CONSTRAINT tasks_state_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_state_check
  CHECK (state IN ('queued', 'active', 'completed', 'failed', 'dead', 'cancelled', 'archived'));
CREATE TABLE task_archive (
  task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  override_id uuid NOT NULL REFERENCES overrides (id),
  archived_at timestamptz NOT NULL DEFAULT now(),
  restored_at timestamptz,
  row_data jsonb NOT NULL,
  PRIMARY KEY (override_id, task_id)
);
CREATE INDEX task_archive_open_idx ON task_archive (task_id) WHERE restored_at IS NULL;

-- Down Migration
DROP TABLE task_archive;
UPDATE tasks SET state = 'queued' WHERE state = 'archived';
ALTER TABLE tasks DROP CONSTRAINT tasks_state_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_state_check
  CHECK (state IN ('queued', 'active', 'completed', 'failed', 'dead', 'cancelled'));
DROP TABLE overrides;
