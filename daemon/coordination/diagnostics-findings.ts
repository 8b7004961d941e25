/**
 * Pure findings of the coordination deep check (docs/coordination.md): the service reads Postgres,
 * Redis and the loops into a snapshot; this decides what is wrong and how badly.
 */

import type { Static } from "typebox";
import type {
  Finding as FindingSchema,
  LoopStatus,
  QueueSnapshot as QueueSnapshotSchema,
  StoreProbe,
} from "../../contract/schemas/coordination.ts";

// What the diagnostics answer is part of the contract (GET /api/dashboard/coordination/diagnostics).
export type Finding = Static<typeof FindingSchema>;
export type Severity = Finding["severity"];
export type QueueSnapshot = Static<typeof QueueSnapshotSchema>;
export interface MirrorSnapshot {
  agentId: string;
  postgresLeases: number;
  missingInRedis: number;
  extraInRedis: number;
}
export interface AgentSnapshot {
  id: string;
  state: string;
  mirrorState: string | null;
  leases: number;
  heartbeatAgeMs: number | null;
}
export type { LoopStatus, StoreProbe };
export interface DiagnosticsSnapshot {
  nowMs: number;
  queues: QueueSnapshot[];
  activeLeases: number;
  expiredLeases: { count: number; oldestOverdueMs: number };
  mirrors: MirrorSnapshot[];
  agents: AgentSnapshot[];
  stores: { postgres: StoreProbe; redis: StoreProbe };
  loops: LoopStatus[];
  /** Expired leases older than this should have been ended by the liveness loop already. */
  sweepIntervalMs: number;
}

/** Store round trips slower than this are worth a warning. */
export const SLOW_STORE_MS = 250;

export function diagnose(s: DiagnosticsSnapshot): Finding[] {
  const out: Finding[] = [];
  const add = (severity: Severity, component: Finding["component"], message: string, evidence = {}) =>
    out.push({ severity, component, message, evidence });

  for (const [name, probe] of Object.entries(s.stores)) {
    if (!probe.ok) add("critical", "stores", `${name} does not answer`, { error: probe.error ?? null });
    else if ((probe.latencyMs ?? 0) > SLOW_STORE_MS)
      add("warning", "stores", `${name} is slow`, { latencyMs: probe.latencyMs, thresholdMs: SLOW_STORE_MS });
  }

  for (const q of s.queues) {
    if (!q.bull) {
      add("warning", "queues", `the dispatch queue of ${q.type} could not be read`, { type: q.type });
      continue;
    }
    const pg = q.pgReady + q.pgDelayed;
    const redis = q.bull.waiting + q.bull.delayed;
    if (pg > redis) {
      add("warning", "queues", `${pg - redis} queued ${q.type} task(s) have no dispatch entry`, {
        type: q.type,
        postgresQueued: pg,
        bullmqWaitingOrDelayed: redis,
        lever:
          "the reconciler re-queues them within OVERSEER_RECONCILE_INTERVAL_MS; POST /api/dashboard/coordination/reset {level: 'soft'} does it now",
      });
    } else if (redis > pg) {
      add("info", "queues", `${redis - pg} ${q.type} dispatch entr(y/ies) point at tasks no longer queued`, {
        type: q.type,
        postgresQueued: pg,
        bullmqWaitingOrDelayed: redis,
        note: "stale copies are dropped when a claim takes them",
      });
    }
  }

  if (s.expiredLeases.count > 0) {
    const late = s.expiredLeases.oldestOverdueMs > 3 * s.sweepIntervalMs;
    add(late ? "warning" : "info", "leases", `${s.expiredLeases.count} lease(s) are past their deadline`, {
      count: s.expiredLeases.count,
      oldestOverdueMs: s.expiredLeases.oldestOverdueMs,
      note: late
        ? "the liveness loop should have ended them: check the loops"
        : "the next liveness pass ends them",
    });
  }
  for (const m of s.mirrors) {
    if (m.missingInRedis > 0 || m.extraInRedis > 0) {
      add("warning", "leases", `agent ${m.agentId}'s Redis lease mirror differs from Postgres`, { ...m });
    }
  }

  for (const a of s.agents) {
    if ((a.state === "dead" || a.state === "left") && a.leases > 0) {
      add("critical", "agents", `${a.state} agent ${a.id} still holds ${a.leases} lease(s)`, {
        agentId: a.id,
        leases: a.leases,
        lever: "POST /api/dashboard/coordination/reset {level: 'soft'}",
      });
    } else if ((a.state === "stale" || a.state === "draining") && a.leases > 0) {
      add("warning", "agents", `${a.state} agent ${a.id} holds ${a.leases} lease(s)`, {
        agentId: a.id,
        heartbeatAgeMs: a.heartbeatAgeMs,
        lever: "POST /api/dashboard/tasks/:id/reassign, or reset {level: 'hard'}",
      });
    }
    const live = a.state === "active" || a.state === "stale" || a.state === "draining";
    if (live && a.mirrorState === null) {
      add("warning", "agents", `live agent ${a.id} is missing from the Redis liveness mirror`, {
        agentId: a.id,
      });
    } else if (live && a.mirrorState !== a.state) {
      add("info", "agents", `agent ${a.id} is ${a.state} in Postgres but ${a.mirrorState} in Redis`, {
        agentId: a.id,
      });
    }
  }

  for (const l of s.loops) {
    if (l.lastErrorAt !== null && (l.lastSuccessAt === null || l.lastErrorAt > l.lastSuccessAt)) {
      add("warning", "loops", `loop ${l.name} failed on its last pass`, {
        loop: l.name,
        lastError: l.lastError,
        errors: l.errors,
      });
    }
    const last = l.lastRunAt ?? null;
    if (last !== null && s.nowMs - last > 3 * l.intervalMs + 1_000) {
      add("warning", "loops", `loop ${l.name} has not run for ${s.nowMs - last} ms`, {
        loop: l.name,
        intervalMs: l.intervalMs,
      });
    }
  }
  return out;
}

/** The worst severity, or "ok" when there are no warnings or worse. */
export function overall(findings: Finding[]): "ok" | "warning" | "critical" {
  if (findings.some((f) => f.severity === "critical")) return "critical";
  if (findings.some((f) => f.severity === "warning")) return "warning";
  return "ok";
}
