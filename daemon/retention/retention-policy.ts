/**
 * Which history the leader deletes, and from when: pure decisions, no I/O. `0` keeps a class
 * forever. Only finished work is ever a candidate; the stores' purges (retention-purges.ts) re-check every
 * condition inside the statement that deletes, so a row that changed since is left alone.
 */

/** How long each class of history is kept, in ms; 0 = forever (docs/retention.md). */
export interface RetentionKeep {
  /** Terminal tasks (by finished_at) with their attempts and archive rows. */
  tasksMs: number;
  /** Terminal pipeline runs (by finished_at) with steps, events, artifacts, conversations, approvals. */
  runsMs: number;
  /** Agent transitions, long-gone agents, schedule ticks, expired confirmations. */
  historyMs: number;
  /** LLM calls and feedback. */
  llmCallsMs: number;
  /** Audit log and ended overrides. */
  auditMs: number;
}

/** One deletion target of a pass; the order of RETENTION_TARGETS is the order of a pass. */
export type RetentionTarget =
  | "tasks"
  | "pipeline_runs"
  | "agent_transitions"
  | "agents"
  | "schedule_ticks"
  | "confirmations"
  | "llm_calls"
  | "feedback"
  | "audit_log"
  | "overrides";

/**
 * Order matters for one reason: agents are deleted only when no task attempt, step or LLM call
 * points at them, so the targets whose rows point at agents go first in the same pass.
 */
export const RETENTION_TARGETS: readonly RetentionTarget[] = [
  "tasks",
  "pipeline_runs",
  "llm_calls",
  "feedback",
  "agent_transitions",
  "agents",
  "schedule_ticks",
  "confirmations",
  "audit_log",
  "overrides",
];

const KEEP_OF: Record<RetentionTarget, keyof RetentionKeep> = {
  tasks: "tasksMs",
  pipeline_runs: "runsMs",
  agent_transitions: "historyMs",
  agents: "historyMs",
  schedule_ticks: "historyMs",
  confirmations: "historyMs",
  llm_calls: "llmCallsMs",
  feedback: "llmCallsMs",
  audit_log: "auditMs",
  overrides: "auditMs",
};

export interface RetentionStep {
  target: RetentionTarget;
  /** Rows that finished (or happened) before this instant are deleted. */
  cutoff: Date;
}

/** The steps of a pass at `nowMs`: one per target whose keep is not 0, in RETENTION_TARGETS order. */
export function retentionPlan(keep: RetentionKeep, nowMs: number): RetentionStep[] {
  const steps: RetentionStep[] = [];
  for (const target of RETENTION_TARGETS) {
    const ms = keep[KEEP_OF[target]];
    if (ms > 0) steps.push({ target, cutoff: new Date(nowMs - ms) });
  }
  return steps;
}

/** The keep (env OVERSEER_RETENTION_*) that governs a target. */
export function keepOf(target: RetentionTarget): keyof RetentionKeep {
  return KEEP_OF[target];
}
