import type { ComponentStatus, SystemHealthComponents, SystemStatus } from "../contract/schemas/system.ts";

/** The state of one component of the system health read (the contract's). `unknown`: it could not be judged. */
export type { ComponentStatus };

/** One component of the system health read: status, latency and its detail (the contract's shapes). */
export type ComponentHealth = SystemHealthComponents[keyof SystemHealthComponents];

/**
 * Weights of the overall score (they sum to 100). Postgres and Redis carry half: without either
 * nothing moves. `overrides` weighs 0: an active override is an operator's deliberate choice, shown
 * as `degraded` status but not counted against the score.
 */
export const HEALTH_WEIGHTS: Record<string, number> = {
  postgres: 25,
  redis: 25,
  leader: 10,
  loops: 10,
  agents: 10,
  canary: 10,
  queues: 5,
  eventLoop: 5,
  overrides: 0,
};

const FACTOR: Record<Exclude<ComponentStatus, "unknown">, number> = { ok: 1, degraded: 0.5, down: 0 };
/** Components whose loss stops all work, so the whole system is down with them. */
const CRITICAL = ["postgres", "redis"];

/**
 * The overall score and status from the components: ok counts its full weight, degraded half, down
 * nothing; unknown components are left out and the others' weights rescaled (an unjudged component
 * neither helps nor hurts). Status: down when a critical component is down or the score is below
 * 50; degraded when any component is degraded or down; ok otherwise.
 */
export function scoreHealth(components: Record<string, Pick<ComponentHealth, "status">>): {
  status: SystemStatus;
  score: number;
} {
  let earned = 0;
  let possible = 0;
  for (const [name, c] of Object.entries(components)) {
    const weight = HEALTH_WEIGHTS[name] ?? 0;
    if (c.status === "unknown" || weight === 0) continue;
    possible += weight;
    earned += weight * FACTOR[c.status];
  }
  const score = possible === 0 ? 0 : Math.round((earned / possible) * 100);
  const statuses = Object.values(components).map((c) => c.status);
  if (CRITICAL.some((n) => components[n]?.status === "down") || score < 50) return { status: "down", score };
  if (statuses.includes("down") || statuses.includes("degraded")) return { status: "degraded", score };
  return { status: "ok", score };
}

/** Event-loop delay (p99 seconds) to status: a loop late by a second starves every timer and request. */
export function eventLoopStatus(p99Seconds: number | null): ComponentStatus {
  if (p99Seconds === null || !Number.isFinite(p99Seconds)) return "unknown";
  if (p99Seconds <= 0.1) return "ok";
  if (p99Seconds <= 1) return "degraded";
  return "down";
}

/** Agents by role to status: every recently seen role needs an active agent; none at all is degraded. */
export function agentsStatus(byRole: Record<string, Record<string, number>>): ComponentStatus {
  const roles = Object.values(byRole);
  if (roles.length === 0) return "degraded";
  const withoutActive = roles.filter((states) => (states.active ?? 0) === 0).length;
  if (withoutActive === 0) return "ok";
  return withoutActive === roles.length ? "down" : "degraded";
}

/** Canary results to status: none yet is unknown; all failing is down; some failing is degraded. */
export function canaryStatus(outcomes: string[], enabled: boolean): ComponentStatus {
  if (!enabled || outcomes.length === 0) return "unknown";
  const failing = outcomes.filter((o) => o !== "success").length;
  if (failing === 0) return "ok";
  return failing === outcomes.length ? "down" : "degraded";
}

/** Claimable work waiting longer than this makes the queues degraded. */
export const QUEUE_WAIT_DEGRADED_SECONDS = 300;
