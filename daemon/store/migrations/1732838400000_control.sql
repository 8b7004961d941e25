-- Up Migration
-- Two-step operator actions (emergency overrides, coordination resets): a dry run issues a
-- short-lived confirmation token bound to the action, its parameters and the actor; the execute call
-- presents it once. Only a hash of the token is stored.
CREATE TABLE confirmations (
  token_hash text PRIMARY KEY,
  action text NOT NULL,
  params_digest text NOT NULL,
  actor text NOT NULL,
  impact jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX confirmations_expires_idx ON confirmations (expires_at);

-- The audit log answers "which request did this": request ids and the impact a dry run predicted.
ALTER TABLE audit_log ADD COLUMN request_id text;
ALTER TABLE audit_log ADD COLUMN impact jsonb;
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_action_idx ON audit_log (action, at);

-- Down Migration
DROP INDEX audit_log_action_idx;
DROP INDEX audit_log_at_idx;
ALTER TABLE audit_log DROP COLUMN impact;
ALTER TABLE audit_log DROP COLUMN request_id;
DROP TABLE confirmations;
