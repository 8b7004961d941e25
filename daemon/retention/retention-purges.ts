import { purgeEndedAgents, purgeTransitions } from "../store/agent-store.ts";
import { artifactStore } from "../store/artifacts-store.ts";
import { auditLog } from "../store/audit-log.ts";
import { budgetApprovalsStore } from "../store/budget-approvals-store.ts";
import { confirmationsStore } from "../store/confirmations-store.ts";
import { conversationStore } from "../store/conversations-store.ts";
import { feedbackStore } from "../store/feedback-store.ts";
import { llmCallsStore } from "../store/llm-calls-store.ts";
import { overridesStore } from "../store/overrides-store.ts";
import type { Tx } from "../store/pg-pool.ts";
import { pipelineRuns } from "../store/pipeline-run-store.ts";
import type { Purge, PurgeBatch } from "../store/purge-batch.ts";
import { scheduleStore } from "../store/schedules-store.ts";
import type { TaskStore } from "../store/task-store.ts";
import type { RetentionTarget } from "./retention-policy.ts";

/**
 * Who deletes what for each retention target: the owner of each table (its one writer), so
 * retention writes no table of its own. Every purge runs in one transaction per batch.
 */
export function retentionPurges(stores: { tasks: TaskStore }): Record<RetentionTarget, Purge> {
  return {
    tasks: (tx, cutoff, limit) => stores.tasks.purgeFinished(tx, cutoff, limit),
    pipeline_runs: purgeFinishedRuns,
    llm_calls: (tx, cutoff, limit) => llmCallsStore.purgeBefore(tx, cutoff, limit),
    feedback: (tx, cutoff, limit) => feedbackStore.purgeBefore(tx, cutoff, limit),
    agent_transitions: purgeTransitions,
    agents: purgeEndedAgents,
    schedule_ticks: (tx, cutoff, limit) => scheduleStore.purgeTicks(tx, cutoff, limit),
    confirmations: (tx, cutoff, limit) => confirmationsStore.purgeExpired(tx, cutoff, limit),
    audit_log: (tx, cutoff, limit) => auditLog.purgeBefore(tx, cutoff, limit),
    overrides: (tx, cutoff, limit) => overridesStore.purgeEnded(tx, cutoff, limit),
  };
}

/**
 * Finished runs and everything that hangs off them: the run store locks the victims (SKIP LOCKED),
 * each child table's owner deletes their rows, then the runs go with their steps and events.
 */
async function purgeFinishedRuns(tx: Tx, cutoff: Date, limit: number): Promise<PurgeBatch> {
  const runIds = await pipelineRuns.lockFinishedBefore(tx, cutoff, limit);
  if (runIds.length === 0) return { deleted: {}, parents: 0 };
  const deleted = {
    ...(await conversationStore.deleteOfRuns(tx, runIds)),
    ...(await artifactStore.deleteOfRuns(tx, runIds)),
    ...(await budgetApprovalsStore.deleteOfRuns(tx, runIds)),
    ...(await pipelineRuns.deleteRuns(tx, runIds)),
  };
  return { deleted, parents: runIds.length };
}
