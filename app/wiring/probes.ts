import type { Redis } from "ioredis";
import type { LifecycleState } from "../../contract/schemas/health.ts";
import type { OverseerConfig } from "../../daemon/config/compile-config.ts";
import type { EventBus } from "../../daemon/events/event-bus.ts";
import { CanaryTasks } from "../../daemon/health/canary-tasks.ts";
import type { LeaderElection } from "../../daemon/leader/leader-election.ts";
import { CanaryStore } from "../../daemon/store/canary-store.ts";
import { HealthStore } from "../../daemon/store/health-store.ts";
import type { Db } from "../../daemon/store/pg-pool.ts";
import { CanaryResultsStore } from "../../daemon/store/redis/canary-results-store.ts";
import { RedisHealthStore } from "../../daemon/store/redis/redis-health-store.ts";
import type { OverseerMetrics } from "../../daemon/telemetry/metrics.ts";
import { CanaryProbe } from "../../probes/canary-probe.ts";
import { SystemHealth } from "../../probes/system-health.ts";
import type { LoopSpec } from "../leader-loops.ts";
import type { DispatchLayer } from "./dispatch.ts";
import type { TaskArea } from "./tasks.ts";

/** The canary (leader only, when enabled) and the health checks behind /readyz and the system-health read. */
export function wireProbes(p: {
  config: OverseerConfig;
  db: Db;
  redis: Redis;
  bus: EventBus;
  metrics: OverseerMetrics;
  layer: DispatchLayer;
  tasks: TaskArea;
  election: LeaderElection;
  replicaId: string;
  lifecycle: () => LifecycleState;
}) {
  const { config, election, layer } = p;
  const canaryResults = new CanaryResultsStore(p.redis, layer.keys.canaryResults);
  const loops: LoopSpec[] = [];
  if (config.canaryEnabled) {
    const canary = new CanaryProbe(
      new CanaryTasks(p.db, new CanaryStore(p.db), p.tasks.tasks, layer.taskStore, layer.dispatch),
      canaryResults,
      p.bus,
      {
        intervalMs: config.canaryIntervalMs,
        timeoutMs: config.canaryTimeoutMs,
        isLeader: () => election.isLeader(),
      },
    );
    // It ticks often enough to notice an answer or a timeout well within the interval, and
    // launches at most one task per role per interval. A follower's pass only forgets what it
    // tracked; the leader's is fenced.
    loops.push({
      name: "canary",
      everyMs: Math.min(
        1_000,
        Math.max(50, Math.floor(Math.min(config.canaryIntervalMs, config.canaryTimeoutMs) / 5)),
      ),
      replica: () => (election.isLeader() ? Promise.resolve() : canary.tick()),
      leader: () => canary.tick(),
    });
  }
  const systemHealth = new SystemHealth({
    postgres: new HealthStore(p.db),
    redis: new RedisHealthStore(p.redis, layer.keys.leader),
    canaryResults,
    replicaId: p.replicaId,
    registry: p.metrics.registry,
    canaryEnabled: config.canaryEnabled,
    lifecycle: p.lifecycle,
  });
  p.bus.subscribe(systemHealth.onEvent);
  return { systemHealth, loops };
}
