-- Up Migration
-- Spending limits on recorded LLM cost. A budget covers every call (scope global), the calls made
-- for runs of one template (scope template), or the calls of one agent role (scope role), over the
-- current UTC day or month. Soft limits warn; hard limits make the mission's budget step block the
-- run, or hold it for an operator's approval when on_hard is 'approval'.
CREATE TABLE budgets (
  id uuid PRIMARY KEY,
  scope text NOT NULL CHECK (scope IN ('global', 'template', 'role')),
  -- '' for global; the template or role name otherwise.
  target text NOT NULL DEFAULT '',
  period text NOT NULL CHECK (period IN ('day', 'month')),
  soft_limit_usd numeric(14, 6) CHECK (soft_limit_usd > 0),
  hard_limit_usd numeric(14, 6) CHECK (hard_limit_usd > 0),
  on_hard text NOT NULL DEFAULT 'block' CHECK (on_hard IN ('block', 'approval')),
  description text,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (scope, target, period),
  CHECK (soft_limit_usd IS NOT NULL OR hard_limit_usd IS NOT NULL),
  CHECK (soft_limit_usd IS NULL OR hard_limit_usd IS NULL OR soft_limit_usd <= hard_limit_usd),
  CHECK ((scope = 'global') = (target = ''))
);

-- A budget step that found a hard limit with on_hard = 'approval' waits here, one row per step
-- generation, until an operator approves (the step passes) or rejects (the step fails).
CREATE TABLE budget_approvals (
  run_id uuid NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
  step_id text NOT NULL,
  generation integer NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
  reason jsonb NOT NULL,
  requested_at timestamptz NOT NULL DEFAULT now(),
  decided_at timestamptz,
  decided_by text,
  comment text,
  PRIMARY KEY (run_id, step_id, generation)
);
CREATE INDEX budget_approvals_pending_idx ON budget_approvals (requested_at) WHERE state = 'pending';

-- Ratings of a run, one of its steps, or one LLM call (1 = bad .. 5 = good). No foreign keys on
-- the call: like llm_calls, feedback outlives what it rates.
CREATE TABLE feedback (
  id uuid PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  target_kind text NOT NULL CHECK (target_kind IN ('run', 'step', 'llm_call')),
  run_id uuid,
  step_id text,
  call_id uuid,
  score smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
  comment text CHECK (char_length(comment) <= 4000),
  author text NOT NULL,
  CHECK (
    (target_kind = 'run' AND run_id IS NOT NULL AND step_id IS NULL AND call_id IS NULL)
    OR (target_kind = 'step' AND run_id IS NOT NULL AND step_id IS NOT NULL AND call_id IS NULL)
    OR (target_kind = 'llm_call' AND call_id IS NOT NULL AND run_id IS NULL AND step_id IS NULL)
  )
);
CREATE INDEX feedback_call_idx ON feedback (call_id) WHERE call_id IS NOT NULL;
CREATE INDEX feedback_run_idx ON feedback (run_id, step_id) WHERE run_id IS NOT NULL;
CREATE INDEX feedback_at_idx ON feedback (at);

-- The export pages through calls in (at, id) order; role budgets sum one role's calls since a time.
CREATE INDEX llm_calls_at_id_idx ON llm_calls (at, id);
CREATE INDEX llm_calls_role_idx ON llm_calls (role, at);

-- Down Migration
DROP INDEX llm_calls_role_idx;
DROP INDEX llm_calls_at_id_idx;
DROP TABLE feedback;
DROP TABLE budget_approvals;
DROP TABLE budgets;
