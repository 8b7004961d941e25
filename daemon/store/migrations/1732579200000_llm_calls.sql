-- Up Migration
-- One row per LLM call an agent (or an operator on its behalf) reported. The id is the client's
-- call id, so a retried batch inserts nothing twice. No foreign keys: a call outlives the task,
-- run or agent it was made for, and its cost must still add up after they are gone.
CREATE TABLE llm_calls (
  id uuid PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  agent_id uuid NOT NULL,
  role text NOT NULL,
  task_id uuid,
  run_id uuid,
  step_id text,
  conversation_id uuid,
  provider text NOT NULL,
  model text NOT NULL,
  source text NOT NULL,
  input_tokens integer NOT NULL CHECK (input_tokens >= 0),
  output_tokens integer NOT NULL CHECK (output_tokens >= 0),
  tokens_counted boolean NOT NULL,
  cost_usd numeric(14, 8) NOT NULL,
  priced boolean NOT NULL,
  latency_ms integer NOT NULL CHECK (latency_ms >= 0),
  ttft_ms integer CHECK (ttft_ms >= 0),
  status text NOT NULL CHECK (status IN ('ok', 'error')),
  error_type text,
  prompt jsonb,
  response text
);
CREATE INDEX llm_calls_at_idx ON llm_calls (at);
CREATE INDEX llm_calls_run_idx ON llm_calls (run_id, at) WHERE run_id IS NOT NULL;
CREATE INDEX llm_calls_model_idx ON llm_calls (model, at);

-- Down Migration
DROP TABLE llm_calls;
