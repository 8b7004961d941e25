-- Up Migration
-- Retention (docs/retention.md): the leader deletes finished history older than its keep in
-- bounded batches ordered by age. These indexes let each batch find its oldest candidates, and the
-- "nothing points at this agent" checks, without scanning whole tables.
CREATE INDEX tasks_finished_idx ON tasks (finished_at)
  WHERE state IN ('completed', 'failed', 'dead', 'cancelled');
CREATE INDEX agent_transitions_at_idx ON agent_transitions (at);
CREATE INDEX agents_ended_idx ON agents (state_changed_at) WHERE state IN ('dead', 'left');
CREATE INDEX pipeline_steps_agent_idx ON pipeline_steps (agent_id) WHERE agent_id IS NOT NULL;
CREATE INDEX llm_calls_agent_idx ON llm_calls (agent_id);
CREATE INDEX schedule_ticks_fired_idx ON schedule_ticks (fired_at);
CREATE INDEX overrides_ended_idx ON overrides (coalesce(ended_at, started_at)) WHERE state <> 'active';

-- Down Migration
DROP INDEX overrides_ended_idx;
DROP INDEX schedule_ticks_fired_idx;
DROP INDEX llm_calls_agent_idx;
DROP INDEX pipeline_steps_agent_idx;
DROP INDEX agents_ended_idx;
DROP INDEX agent_transitions_at_idx;
DROP INDEX tasks_finished_idx;
