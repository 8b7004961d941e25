/**
 * The pure auto-heal planner: observed state in, actions with reasons out. Each strategy adds to
 * the one before it (conservative ⊂ smart ⊂ aggressive); docs/recovery.md describes every action.
 */
import {
  HEAL_ACTION_KINDS,
  HEAL_STRATEGIES,
  type HealActionKind,
  type HealStrategy,
} from "../../contract/schemas/recovery.ts";

// The strategies and action kinds are the contract's: the API validates and answers them.
export { HEAL_ACTION_KINDS, HEAL_STRATEGIES, type HealActionKind, type HealStrategy };

export interface HealAction {
  action: HealActionKind;
  /** Agent id, agent name (quarantine), task id, managed `name/replica` or task type. */
  target: string;
  reason: string;
  /** What restart limits count against, when not the target: an agent's name (ids change on every registration). */
  subject?: string;
}

export interface HealObservation {
  /** Agents that are dead, left or unknown but still hold leases. */
  orphanedLeaseHolders: string[];
  /** Dead-lettered tasks of the look-back window, with their last failure. */
  deadTasks: Array<{
    taskId: string;
    type: string;
    category: string;
    deadForMs: number;
    /** How often auto-heal already retried this task. */
    healRetries: number;
  }>;
  /** Managed children given up by their supervisor (this replica's). */
  failedManaged: Array<{ name: string; replica: number; reason: string }>;
  /** Names whose registrations died repeatedly in the window, with their live registrations. */
  flapping: Array<{ name: string; deaths: number; liveAgentIds: string[] }>;
  /** Attempts by task type in the window. */
  typeOutcomes: Array<{ type: string; attempts: number; failed: number }>;
  /** Live agents: state and attempts in the window. */
  agents: Array<{ agentId: string; name: string; state: string; attempts: number; failed: number }>;
  /** Quarantined agent names. */
  quarantined: ReadonlySet<string>;
  openCircuits: ReadonlySet<string>;
}

/** Thresholds of the planner, documented in docs/recovery.md. */
export const HEAL_RULES = {
  /** Failure categories that say nothing against the task itself. */
  transientCategories: [
    "lost_heartbeat",
    "timed_out",
    "timeout",
    "rate_limit",
    "rate_limited",
    "connection",
    "network",
    "unavailable",
    "transient",
  ],
  /** A dead task is retried at most this often by auto-heal ... */
  maxRetriesPerTask: 2,
  /** ... and only once it has been dead for base × 2^retries (backoff between heal retries). */
  retryBackoffBaseMs: 30_000,
  /** Deaths of one agent name in the window that make it flapping. */
  flappingDeaths: 3,
  /** A task type with at least this many attempts ... */
  circuitMinAttempts: 10,
  /** ... and at least this share failed gets its circuit opened. */
  circuitFailureRatio: 0.5,
  /** An agent with at least this many attempts and this share failed is unhealthy (aggressive). */
  unhealthyMinAttempts: 5,
  unhealthyFailureRatio: 0.8,
} as const;

const includes = (strategy: HealStrategy, level: HealStrategy) =>
  HEAL_STRATEGIES.indexOf(strategy) >= HEAL_STRATEGIES.indexOf(level);

const pct = (n: number) => `${Math.round(n * 100)} %`;

export function planHeal(strategy: HealStrategy, o: HealObservation): HealAction[] {
  const plan: HealAction[] = [];
  for (const agentId of o.orphanedLeaseHolders) {
    plan.push({
      action: "requeue_orphaned_leases",
      target: agentId,
      reason: "agent is no longer live but still holds leases",
    });
  }
  for (const t of o.deadTasks) {
    // Dead-lettered tasks all failed "retryably"; only the category says whether the cause was passing.
    const transient = (HEAL_RULES.transientCategories as readonly string[]).includes(t.category);
    if (!transient || t.healRetries >= HEAL_RULES.maxRetriesPerTask) continue;
    const wait = HEAL_RULES.retryBackoffBaseMs * 2 ** t.healRetries;
    if (t.deadForMs < wait) continue;
    plan.push({
      action: "retry_dead_task",
      target: t.taskId,
      reason: `dead-lettered after a transient failure (${t.category}); heal retry ${t.healRetries + 1} of ${HEAL_RULES.maxRetriesPerTask}`,
    });
  }
  if (!includes(strategy, "smart")) return plan;
  for (const m of o.failedManaged) {
    plan.push({
      action: "restart_managed_agent",
      target: `${m.name}/${m.replica}`,
      reason: `managed agent was given up (${m.reason})`,
    });
  }
  // Quarantine is keyed by the agent's registration name: a flapping process registers again under
  // a new id each time, and must stay quarantined when it does.
  const quarantining = new Set<string>();
  for (const f of o.flapping) {
    if (f.deaths < HEAL_RULES.flappingDeaths || o.quarantined.has(f.name)) continue;
    quarantining.add(f.name);
    plan.push({
      action: "quarantine_agent",
      target: f.name,
      reason: `${f.name} died ${f.deaths} times in the window (flapping; live registrations: ${f.liveAgentIds.length})`,
    });
  }
  for (const t of o.typeOutcomes) {
    if (o.openCircuits.has(t.type) || t.attempts < HEAL_RULES.circuitMinAttempts) continue;
    const ratio = t.failed / t.attempts;
    if (ratio < HEAL_RULES.circuitFailureRatio) continue;
    plan.push({
      action: "open_circuit",
      target: t.type,
      reason: `${t.failed} of ${t.attempts} attempts failed (${pct(ratio)})`,
    });
  }
  if (!includes(strategy, "aggressive")) return plan;
  for (const a of o.agents) {
    if (quarantining.has(a.name) || o.quarantined.has(a.name)) continue;
    const failing =
      a.attempts >= HEAL_RULES.unhealthyMinAttempts &&
      a.failed / a.attempts >= HEAL_RULES.unhealthyFailureRatio;
    if (a.state !== "stale" && !failing) continue;
    plan.push({
      action: "drain_restart_agent",
      target: a.agentId,
      subject: a.name,
      reason:
        a.state === "stale"
          ? `${a.name} is stale (heartbeats late)`
          : `${a.name} failed ${a.failed} of ${a.attempts} attempts (${pct(a.failed / a.attempts)})`,
    });
  }
  return plan;
}
