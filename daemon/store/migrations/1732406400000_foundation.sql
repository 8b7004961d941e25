-- Up Migration

-- Agents and their lifecycle history. Liveness itself (heartbeat times) lives in Redis; Postgres keeps
-- every transition and a periodically flushed last_heartbeat_at so a Redis loss can be repaired.
CREATE TABLE agents (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  role text NOT NULL,
  capabilities text[] NOT NULL,
  concurrency integer NOT NULL,
  state text NOT NULL CHECK (state IN ('active', 'stale', 'dead', 'draining', 'left')),
  registered_at timestamptz NOT NULL DEFAULT now(),
  state_changed_at timestamptz NOT NULL DEFAULT now(),
  last_heartbeat_at timestamptz NOT NULL DEFAULT now(),
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX agents_live_idx ON agents (state) WHERE state IN ('active', 'stale', 'draining');

CREATE TABLE agent_transitions (
  id bigserial PRIMARY KEY,
  agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  at timestamptz NOT NULL DEFAULT now(),
  from_state text,
  to_state text NOT NULL,
  reason text
);
CREATE INDEX agent_transitions_agent_idx ON agent_transitions (agent_id, at);

-- Fencing tokens: strictly increasing across every lease ever granted in this namespace.
CREATE SEQUENCE lease_token_seq;

CREATE TABLE tasks (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  payload jsonb NOT NULL,
  priority integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  timeout_ms integer NOT NULL,
  idempotency_key text UNIQUE,
  state text NOT NULL CHECK (state IN ('queued', 'active', 'completed', 'failed', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  failures integer NOT NULL DEFAULT 0,
  lease_token bigint,
  lease_agent_id uuid,
  lease_expires_at timestamptz,
  claimed_at timestamptz,
  ready_at timestamptz NOT NULL DEFAULT now(),
  progress_percent real,
  progress_message text,
  result jsonb,
  error jsonb,
  dead_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  CHECK ((state = 'active') = (lease_token IS NOT NULL))
);
CREATE INDEX tasks_unfinished_idx ON tasks (type, state) WHERE state <> 'completed';
CREATE INDEX tasks_lease_agent_idx ON tasks (lease_agent_id) WHERE state = 'active';
CREATE INDEX tasks_lease_expiry_idx ON tasks (lease_expires_at) WHERE state = 'active';
CREATE INDEX tasks_queued_ready_idx ON tasks (ready_at) WHERE state = 'queued';

-- Every attempt, one row per lease. The partial unique index is the database's own guarantee that
-- a task completes at most once, whatever the application gets wrong.
CREATE TABLE task_attempts (
  task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  agent_id uuid NOT NULL,
  lease_token bigint NOT NULL UNIQUE,
  claimed_at timestamptz NOT NULL,
  finished_at timestamptz,
  outcome text CHECK (outcome IN ('completed', 'failed', 'timed_out', 'lost', 'released')),
  error jsonb,
  PRIMARY KEY (task_id, attempt)
);
CREATE UNIQUE INDEX task_attempts_one_completion_idx ON task_attempts (task_id) WHERE outcome = 'completed';
CREATE INDEX task_attempts_agent_idx ON task_attempts (agent_id, finished_at);

-- Down Migration
DROP TABLE task_attempts;
DROP TABLE tasks;
DROP SEQUENCE lease_token_seq;
DROP TABLE agent_transitions;
DROP TABLE agents;
