import { Type } from "typebox";

/** `/healthz`, `/readyz` and `/metrics`: what a process supervisor and Prometheus read. */

/** The daemon's lifecycle: INITIALIZED → STARTING → RUNNING → DRAINING → STOPPED, or FAILED. */
export const LIFECYCLE_STATES = [
  "INITIALIZED",
  "STARTING",
  "RUNNING",
  "DRAINING",
  "STOPPED",
  "FAILED",
] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];
export const Lifecycle = Type.Enum(LIFECYCLE_STATES);

export const HealthzReply = Type.Object({
  status: Type.Union([Type.Literal("ok"), Type.Literal("failed")]),
  lifecycle: Lifecycle,
});

/** One dependency check of `/readyz`; slower than 2 s counts as failed. */
export const ReadinessCheck = Type.Object({
  ok: Type.Boolean(),
  latencyMs: Type.Number(),
  detail: Type.String({ description: "what was seen, or why the check failed" }),
});

export const ReadyzReply = Type.Object({
  status: Type.Union([Type.Literal("ready"), Type.Literal("not_ready")]),
  ready: Type.Boolean(),
  lifecycle: Lifecycle,
  checks: Type.Object({
    postgres: ReadinessCheck,
    redis: ReadinessCheck,
    migrations: ReadinessCheck,
    leader: ReadinessCheck,
  }),
});

export const MetricsText = Type.String({ description: "Prometheus text exposition format 0.0.4" });
