-- Up Migration

-- Tasks can be cancelled (a pipeline run cancelled or a step skipped while its task is queued or
-- running). A cancelled task's lease is revoked like any other: a late complete gets 409.
ALTER TABLE tasks DROP CONSTRAINT tasks_state_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_state_check
  CHECK (state IN ('queued', 'active', 'completed', 'failed', 'dead', 'cancelled'));
ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_outcome_check;
ALTER TABLE task_attempts ADD CONSTRAINT task_attempts_outcome_check
  CHECK (outcome IN ('completed', 'failed', 'timed_out', 'lost', 'released', 'cancelled'));

-- Templates are versioned data: a run records the version it ran; an update adds a version.
CREATE TABLE pipeline_templates (
  name text NOT NULL,
  version integer NOT NULL,
  definition jsonb NOT NULL,
  source text NOT NULL CHECK (source IN ('builtin', 'api', 'file')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, version)
);

CREATE TABLE pipeline_runs (
  id uuid PRIMARY KEY,
  template text NOT NULL,
  template_version integer NOT NULL,
  input jsonb NOT NULL,
  state text NOT NULL CHECK (state IN ('running', 'paused', 'snoozed', 'completed', 'failed', 'cancelled')),
  priority integer NOT NULL DEFAULT 0,
  escalated boolean NOT NULL DEFAULT false,
  idempotency_key text UNIQUE,
  schedule_id uuid,
  percent real NOT NULL DEFAULT 0,
  current_step text,
  message text,
  snoozed_until timestamptz,
  output jsonb,
  error jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  FOREIGN KEY (template, template_version) REFERENCES pipeline_templates (name, version)
);
CREATE INDEX pipeline_runs_open_idx ON pipeline_runs (state, updated_at)
  WHERE state IN ('running', 'paused', 'snoozed');
CREATE INDEX pipeline_runs_template_idx ON pipeline_runs (template, created_at);
CREATE INDEX pipeline_runs_created_idx ON pipeline_runs (created_at);
-- ETA history (latest completed runs of a version) and the workflow history (newest finished first).
CREATE INDEX pipeline_runs_history_idx ON pipeline_runs (template, template_version, finished_at DESC)
  WHERE state = 'completed';
CREATE INDEX pipeline_runs_finished_idx ON pipeline_runs (finished_at DESC) WHERE finished_at IS NOT NULL;

-- One row per step of a run: its current execution. `generation` counts operator retries; each
-- generation of an agent step is one foundation task (its attempts are that task's attempts).
CREATE TABLE pipeline_steps (
  run_id uuid NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
  step_id text NOT NULL,
  position integer NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'running', 'completed', 'failed', 'skipped', 'cancelled')),
  generation integer NOT NULL DEFAULT 0,
  task_id uuid,
  agent_id uuid,
  input_override jsonb,
  progress real,
  message text,
  output jsonb,
  error jsonb,
  skip_reason text,
  started_at timestamptz,
  finished_at timestamptz,
  duration_ms integer,
  PRIMARY KEY (run_id, step_id)
);
CREATE INDEX pipeline_steps_task_idx ON pipeline_steps (task_id) WHERE task_id IS NOT NULL;
CREATE INDEX pipeline_steps_running_idx ON pipeline_steps (run_id) WHERE state = 'running';

-- The durable timeline of a run: what a reconnecting client replays, and what history shows.
CREATE TABLE pipeline_events (
  id bigserial PRIMARY KEY,
  run_id uuid NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
  at timestamptz NOT NULL DEFAULT now(),
  type text NOT NULL,
  step_id text,
  data jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX pipeline_events_run_idx ON pipeline_events (run_id, id);

-- Every operator action, with who, what and why.
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  target_kind text NOT NULL,
  target_id text NOT NULL,
  reason text,
  data jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_target_idx ON audit_log (target_kind, target_id, at);

CREATE TABLE artifacts (
  id uuid PRIMARY KEY,
  run_id uuid NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
  step_id text,
  type text NOT NULL,
  title text NOT NULL,
  content text NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX artifacts_run_idx ON artifacts (run_id, created_at);

CREATE TABLE conversations (
  id uuid PRIMARY KEY,
  run_id uuid NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
  step_id text NOT NULL,
  title text NOT NULL,
  state text NOT NULL CHECK (state IN ('open', 'completed')),
  completes_step boolean NOT NULL DEFAULT false,
  summary text,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);
CREATE INDEX conversations_run_idx ON conversations (run_id, created_at);

CREATE TABLE conversation_messages (
  id bigserial PRIMARY KEY,
  conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  role text NOT NULL,
  author text NOT NULL,
  content text NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversation_messages_idx ON conversation_messages (conversation_id, id);

CREATE TABLE schedules (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  template text NOT NULL,
  input jsonb NOT NULL,
  cron text,
  run_at timestamptz,
  timezone text NOT NULL DEFAULT 'UTC',
  state text NOT NULL CHECK (state IN ('active', 'paused', 'done')),
  next_run_at timestamptz,
  last_tick_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((cron IS NULL) <> (run_at IS NULL))
);
CREATE INDEX schedules_due_idx ON schedules (next_run_at) WHERE state = 'active';

-- A tick is claimed by inserting its row in the same transaction as its run: two replicas racing
-- for one tick cannot both win.
CREATE TABLE schedule_ticks (
  schedule_id uuid NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
  tick_at timestamptz NOT NULL,
  run_id uuid,
  fired_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (schedule_id, tick_at)
);

-- Down Migration
DROP TABLE schedule_ticks;
DROP TABLE schedules;
DROP TABLE conversation_messages;
DROP TABLE conversations;
DROP TABLE artifacts;
DROP TABLE audit_log;
DROP TABLE pipeline_events;
DROP TABLE pipeline_steps;
DROP TABLE pipeline_runs;
DROP TABLE pipeline_templates;
-- Cancelled tasks and attempts have no place in the older schema: they become failed ones.
UPDATE task_attempts SET outcome = 'failed' WHERE outcome = 'cancelled';
UPDATE tasks SET state = 'failed' WHERE state = 'cancelled';
ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_outcome_check;
ALTER TABLE task_attempts ADD CONSTRAINT task_attempts_outcome_check
  CHECK (outcome IN ('completed', 'failed', 'timed_out', 'lost', 'released'));
ALTER TABLE tasks DROP CONSTRAINT tasks_state_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_state_check
  CHECK (state IN ('queued', 'active', 'completed', 'failed', 'dead'));

