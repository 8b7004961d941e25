import type { RetentionTarget } from "./retention-policy.ts";

/**
 * One bounded DELETE per call: `$1` is the cutoff, `$2` the most parent rows it takes. Each is a
 * single statement (its own short transaction): victims are picked with FOR UPDATE SKIP LOCKED,
 * so a row another transaction holds is skipped this pass instead of waited for, and the state
 * conditions are re-checked on the locked row. Child rows are deleted explicitly in the same
 * statement (rather than left to ON DELETE CASCADE) so every table's count is reported.
 * The result is one row: deleted rows per table, `parent` naming the column that decides
 * whether the target has more to do (parent count < limit = done). The agents statement also
 * returns `agent_ids` (text[]), the ids it deleted, so their Redis state mirror can go too.
 */
export interface RetentionStatement {
  text: string;
  /** The column of the result that counts the rows the LIMIT applies to. */
  parent: string;
}

const counts = (ctes: Record<string, string>): string =>
  `SELECT ${Object.entries(ctes)
    .map(([cte, table]) => `(SELECT count(*) FROM ${cte})::int AS ${table}`)
    .join(", ")}`;

export const RETENTION_SQL: Record<RetentionTarget, RetentionStatement> = {
  // Terminal tasks only, and never one a still-open pipeline run's step points at (the run's
  // sweep reads its step's task). 'archived' is not terminal: an override may restore it.
  tasks: {
    parent: "tasks",
    text: `WITH victims AS (
      SELECT t.id FROM tasks t
      WHERE t.state IN ('completed', 'failed', 'dead', 'cancelled') AND t.finished_at < $1
        AND NOT EXISTS (
          SELECT 1 FROM pipeline_steps s JOIN pipeline_runs r ON r.id = s.run_id
          WHERE s.task_id = t.id AND r.state IN ('running', 'paused', 'snoozed'))
      ORDER BY t.finished_at LIMIT $2 FOR UPDATE OF t SKIP LOCKED),
    d_attempts AS (DELETE FROM task_attempts WHERE task_id IN (SELECT id FROM victims) RETURNING 1),
    d_archive AS (DELETE FROM task_archive WHERE task_id IN (SELECT id FROM victims) RETURNING 1),
    d_tasks AS (DELETE FROM tasks WHERE id IN (SELECT id FROM victims) RETURNING 1)
    ${counts({ d_tasks: "tasks", d_attempts: "task_attempts", d_archive: "task_archive" })}`,
  },
  // Finished runs and everything that hangs off them (all ON DELETE CASCADE in the schema).
  pipeline_runs: {
    parent: "pipeline_runs",
    text: `WITH victims AS (
      SELECT id FROM pipeline_runs
      WHERE state IN ('completed', 'failed', 'cancelled') AND finished_at < $1
      ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED),
    d_messages AS (DELETE FROM conversation_messages WHERE conversation_id IN
      (SELECT id FROM conversations WHERE run_id IN (SELECT id FROM victims)) RETURNING 1),
    d_conversations AS (DELETE FROM conversations WHERE run_id IN (SELECT id FROM victims) RETURNING 1),
    d_artifacts AS (DELETE FROM artifacts WHERE run_id IN (SELECT id FROM victims) RETURNING 1),
    d_events AS (DELETE FROM pipeline_events WHERE run_id IN (SELECT id FROM victims) RETURNING 1),
    d_steps AS (DELETE FROM pipeline_steps WHERE run_id IN (SELECT id FROM victims) RETURNING 1),
    d_approvals AS (DELETE FROM budget_approvals WHERE run_id IN (SELECT id FROM victims) RETURNING 1),
    d_runs AS (DELETE FROM pipeline_runs WHERE id IN (SELECT id FROM victims) RETURNING 1)
    ${counts({
      d_runs: "pipeline_runs",
      d_steps: "pipeline_steps",
      d_events: "pipeline_events",
      d_artifacts: "artifacts",
      d_conversations: "conversations",
      d_messages: "conversation_messages",
      d_approvals: "budget_approvals",
    })}`,
  },
  llm_calls: {
    parent: "llm_calls",
    text: `WITH d AS (DELETE FROM llm_calls WHERE id IN
      (SELECT id FROM llm_calls WHERE at < $1 ORDER BY at LIMIT $2) RETURNING 1)
    ${counts({ d: "llm_calls" })}`,
  },
  feedback: {
    parent: "feedback",
    text: `WITH d AS (DELETE FROM feedback WHERE id IN
      (SELECT id FROM feedback WHERE at < $1 ORDER BY at LIMIT $2) RETURNING 1)
    ${counts({ d: "feedback" })}`,
  },
  agent_transitions: {
    parent: "agent_transitions",
    text: `WITH d AS (DELETE FROM agent_transitions WHERE id IN
      (SELECT id FROM agent_transitions WHERE at < $1 ORDER BY at LIMIT $2) RETURNING 1)
    ${counts({ d: "agent_transitions" })}`,
  },
  // Agents that ended (dead or left) before the cutoff and that nothing points at any more: no
  // task attempt, live lease, pipeline step or LLM call (those go by their own keeps first).
  agents: {
    parent: "agents",
    text: `WITH victims AS (
      SELECT a.id FROM agents a
      WHERE a.state IN ('dead', 'left') AND a.state_changed_at < $1
        AND NOT EXISTS (SELECT 1 FROM task_attempts x WHERE x.agent_id = a.id)
        AND NOT EXISTS (SELECT 1 FROM tasks x WHERE x.lease_agent_id = a.id AND x.state = 'active')
        AND NOT EXISTS (SELECT 1 FROM pipeline_steps x WHERE x.agent_id = a.id)
        AND NOT EXISTS (SELECT 1 FROM llm_calls x WHERE x.agent_id = a.id)
      ORDER BY a.state_changed_at LIMIT $2 FOR UPDATE OF a SKIP LOCKED),
    d_transitions AS (DELETE FROM agent_transitions WHERE agent_id IN (SELECT id FROM victims) RETURNING 1),
    d_agents AS (DELETE FROM agents WHERE id IN (SELECT id FROM victims) RETURNING id)
    ${counts({ d_agents: "agents", d_transitions: "agent_transitions" })},
      (SELECT coalesce(array_agg(id::text), '{}') FROM d_agents) AS agent_ids`,
  },
  // Each schedule keeps its latest tick whatever its age: the tick's primary key is what makes a
  // tick fire once, and the latest is the one a late replica could still try to claim.
  schedule_ticks: {
    parent: "schedule_ticks",
    text: `WITH d AS (DELETE FROM schedule_ticks WHERE (schedule_id, tick_at) IN
      (SELECT t.schedule_id, t.tick_at FROM schedule_ticks t
       WHERE t.fired_at < $1
         AND t.tick_at < (SELECT max(m.tick_at) FROM schedule_ticks m WHERE m.schedule_id = t.schedule_id)
       ORDER BY t.fired_at LIMIT $2) RETURNING 1)
    ${counts({ d: "schedule_ticks" })}`,
  },
  // A token is single-use and refused after expires_at anyway, so past expiry + keep the row
  // only documents history (the audit log records what was confirmed).
  confirmations: {
    parent: "confirmations",
    text: `WITH d AS (DELETE FROM confirmations WHERE token_hash IN
      (SELECT token_hash FROM confirmations WHERE expires_at < $1 ORDER BY expires_at LIMIT $2) RETURNING 1)
    ${counts({ d: "confirmations" })}`,
  },
  audit_log: {
    parent: "audit_log",
    text: `WITH d AS (DELETE FROM audit_log WHERE id IN
      (SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2) RETURNING 1)
    ${counts({ d: "audit_log" })}`,
  },
  // Ended overrides that no archived task still names (task_archive.override_id has no cascade).
  overrides: {
    parent: "overrides",
    text: `WITH d AS (DELETE FROM overrides WHERE id IN
      (SELECT o.id FROM overrides o
       WHERE o.state <> 'active' AND coalesce(o.ended_at, o.started_at) < $1
         AND NOT EXISTS (SELECT 1 FROM task_archive x WHERE x.override_id = o.id)
       ORDER BY o.started_at LIMIT $2 FOR UPDATE OF o SKIP LOCKED) RETURNING 1)
    ${counts({ d: "overrides" })}`,
  },
};
