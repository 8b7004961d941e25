import { FEED_NAMES } from "../../contract/feed-protocol.ts";
import { FEEDBACK_TARGET_KINDS } from "../../contract/schemas/feedback.ts";
import { LLM_CALL_ERROR_TYPES } from "../../contract/schemas/llm.ts";
import { OVERRIDE_ACTIONS } from "../../contract/schemas/overrides.ts";
import { HEAL_ACTION_KINDS, HEAL_STRATEGIES } from "../../contract/schemas/recovery.ts";
import { PROBE_OUTCOMES } from "../../contract/schemas/system.ts";
import { SESSION_CLOSE_REASONS } from "../agents/agent-sessions.ts";
import { AGENT_STATES, nextAgentState } from "../agents/agent-state.ts";
import { type EventPayloads, OPERATOR_ACTIONS, type RequeueReason } from "../events/catalogue.ts";
import type { DropReason, RefuseReason } from "../feeds/close-codes.ts";

/** Every `from`/`to` pair the agent state machine can produce, plus a registration (`none` → `active`). */
function agentTransitions(): Array<{ from: string; to: string }> {
  const events = [
    { kind: "heartbeat", status: "active" },
    { kind: "heartbeat", status: "draining" },
    { kind: "silence", ageMs: 2, staleAfterMs: 1, deadAfterMs: 3 },
    { kind: "silence", ageMs: 3, staleAfterMs: 1, deadAfterMs: 3 },
    { kind: "deregister" },
  ] as const;
  const pairs = new Map<string, { from: string; to: string }>([
    ["none>active", { from: "none", to: "active" }],
  ]);
  for (const from of AGENT_STATES) {
    for (const e of events) {
      const to = nextAgentState(from, e);
      if (to !== from) pairs.set(`${from}>${to}`, { from, to });
    }
  }
  return [...pairs.values()];
}

/**
 * The label values that are known before anything happens: each counter or gauge whose labels all
 * come from here (or from the roles, task types, templates and loops the daemon learns at start or
 * at scrape) is exported at 0 from the first scrape, so "nothing happened" reads 0, not absent.
 * Only bounded sets belong here: never ids, never values an agent chooses freely (its own failure
 * categories, model names).
 */
export const KNOWN_LABEL_VALUES = {
  agentStates: AGENT_STATES,
  agentTransitions: agentTransitions(),
  leaderChanges: [
    { change: "acquired", reason: "elected" },
    ...(["lease_lost", "redis_error", "fenced", "expired_locally", "stopping"] as const).map((reason) => ({
      change: "lost",
      reason,
    })),
  ],
  /** The failure categories the daemon itself assigns; agents' own categories appear when reported. */
  daemonFailureCategories: ["timeout", "lost_heartbeat"],
  /** `timed_out` is in the catalogue but not produced (docs/metrics.md). */
  requeueReasons: ["agent_dead", "agent_left", "released"] satisfies RequeueReason[],
  leaseOperations: [
    "progress",
    "complete",
    "fail",
    "release",
  ] satisfies EventPayloads["lease.conflict"]["operation"][],
  queueStates: ["ready", "delayed", "active", "failed", "dead"],
  runEndStates: ["completed", "failed", "cancelled"],
  stepOutcomes: ["completed", "failed"],
  /** Per model, once the model is known (its first recorded call). */
  llmErrorTypes: LLM_CALL_ERROR_TYPES,
  runActiveStates: ["running", "paused", "snoozed"],
  operatorActions: OPERATOR_ACTIONS,
  overrideActions: OVERRIDE_ACTIONS,
  overrideOutcomes: [
    "dry_run",
    "executed",
    "rejected",
    "undone",
    "expired",
  ] satisfies EventPayloads["override.step"]["outcome"][],
  reconcileKinds: ["missing_dispatch", "orphaned_lease", "untracked_lease", "liveness_mirror"],
  wsFeeds: FEED_NAMES,
  wsDropReasons: ["slow_consumer", "ping_timeout", "error", "shutdown"] satisfies DropReason[],
  wsRefuseReasons: ["token_cap", "replica_cap"] satisfies RefuseReason[],
  sessionCloseReasons: SESSION_CLOSE_REASONS,
  agentRestarts: [
    { mode: "restart", via: "managed" },
    { mode: "restart", via: "command" },
    { mode: "drain", via: "managed" },
    { mode: "drain", via: "command" },
  ],
  managedRestartReasons: ["crashed", "exited", "requested"],
  healStrategies: HEAL_STRATEGIES,
  healActions: HEAL_ACTION_KINDS,
  healOutcomes: ["executed", "failed", "skipped"] satisfies EventPayloads["heal.action"]["outcome"][],
  probeOutcomes: PROBE_OUTCOMES,
  budgetStepOutcomes: [
    "pass",
    "warn",
    "block",
    "await_approval",
    "approved",
    "rejected",
  ] satisfies EventPayloads["budget.step"]["outcome"][],
  feedbackTargets: FEEDBACK_TARGET_KINDS,
  feedbackScores: ["1", "2", "3", "4", "5"],
  dependencies: ["postgres", "redis"],
} as const;
