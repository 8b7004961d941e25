import { type Static, Type } from "typebox";
import { Uuid } from "./common.ts";

/** Agent restart, auto-heal and managed agents (docs/recovery.md). */

/** Auto-heal's strategies; each adds to the one before it (conservative ⊂ smart ⊂ aggressive). */
export const HEAL_STRATEGIES = ["conservative", "smart", "aggressive"] as const;
export type HealStrategy = (typeof HEAL_STRATEGIES)[number];

/** What auto-heal can do (docs/recovery.md describes each). */
export const HEAL_ACTION_KINDS = [
  "requeue_orphaned_leases",
  "retry_dead_task",
  "restart_managed_agent",
  "quarantine_agent",
  "open_circuit",
  "drain_restart_agent",
] as const;
export type HealActionKind = (typeof HEAL_ACTION_KINDS)[number];

/** The states of a managed agent process (recovery/managed/managed-supervisor.ts). */
export const MANAGED_STATES = ["starting", "running", "backoff", "stopping", "stopped", "failed"] as const;
export type ManagedState = (typeof MANAGED_STATES)[number];

const Time = Type.String({ format: "date-time" });
const Pid = Type.Union([Type.Integer(), Type.Null()]);
// No NUL: Postgres text cannot hold it, and the audit insert must not fail after the action ran.
const Reason = Type.String({ minLength: 1, maxLength: 2_000, pattern: "^[^\\u0000]*$" });

export const RestartBody = Type.Object({
  reason: Reason,
  mode: Type.Optional(Type.Union([Type.Literal("restart"), Type.Literal("drain")])),
});

/** What a restart or drain did. */
export const RestartOutcome = Type.Object({
  agentId: Uuid,
  mode: Type.Union([Type.Literal("restart"), Type.Literal("drain")]),
  via: Type.Union([Type.Literal("managed"), Type.Literal("command")], {
    description:
      "managed: this replica restarted the process; command: the agent gets it in its heartbeat answer",
  }),
  releasedTaskIds: Type.Array(Uuid, {
    description: "leases released (queued again, not counted as attempts)",
  }),
  managed: Type.Union(
    [Type.Object({ name: Type.String(), replica: Type.Integer(), previousPid: Pid, pid: Pid }), Type.Null()],
    { description: "the managed process restarted (pid null: it did not start again in time)" },
  ),
});
export type RestartOutcome = Static<typeof RestartOutcome>;

export const AutoHealBody = Type.Object({
  strategy: Type.Union(HEAL_STRATEGIES.map((s) => Type.Literal(s))),
  dryRun: Type.Optional(Type.Boolean({ description: "default true: only the plan" })),
});

const HealActionKind = Type.Enum(HEAL_ACTION_KINDS);
/** What a heal action is aimed at: an agent id, an agent name, a task id, a managed `name/replica` or a task type. */
const HealTarget = Type.String();

/** One auto-heal pass: the plan, what was executed and what the intensity limits held back. */
export const HealReport = Type.Object({
  strategy: Type.Enum(HEAL_STRATEGIES),
  dryRun: Type.Boolean(),
  plan: Type.Array(Type.Object({ action: HealActionKind, target: HealTarget, reason: Type.String() })),
  executed: Type.Array(
    Type.Object({
      action: HealActionKind,
      target: HealTarget,
      outcome: Type.Union([Type.Literal("executed"), Type.Literal("failed")]),
      detail: Type.Optional(Type.String({ description: "why it failed" })),
    }),
  ),
  skipped: Type.Array(Type.Object({ action: HealActionKind, target: HealTarget, why: Type.String() })),
});
export type HealReport = Static<typeof HealReport>;

/** How a managed process last ended. */
export const ExitInfo = Type.Object({
  code: Type.Union([Type.Integer(), Type.Null()]),
  signal: Type.Union([Type.String(), Type.Null()]),
  requested: Type.Boolean({ description: "the exit followed a restart by an operator or a restart command" }),
});
export type ExitInfo = Static<typeof ExitInfo>;

/** One supervised process of this replica. */
export const ManagedAgentView = Type.Object({
  name: Type.String(),
  replica: Type.Integer(),
  state: Type.Enum(MANAGED_STATES),
  pid: Pid,
  agentId: Type.Union([Type.String(), Type.Null()], {
    description: "the id it registered with, once it did",
  }),
  restartsInWindow: Type.Integer({ minimum: 0 }),
  lastExit: Type.Union([ExitInfo, Type.Null()]),
});
export type ManagedAgentView = Static<typeof ManagedAgentView>;

/** This replica's managed agents, and auto-heal's quarantines and open circuits in force. */
export const ManagedAgentsReply = Type.Object({
  managed: Type.Array(ManagedAgentView),
  quarantinedAgents: Type.Record(Type.String(), Time, { description: "agent name → quarantined until" }),
  openCircuits: Type.Record(Type.String(), Time, { description: "task type → circuit open until" }),
});
