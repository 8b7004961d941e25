import type { Redis } from "ioredis";
import type { OverseerConfig } from "../../daemon/config/compile-config.ts";
import type { EventBus } from "../../daemon/events/event-bus.ts";
import { OverrideGate } from "../../daemon/overrides/override-gate.ts";
import { AgentStore } from "../../daemon/store/agent-store.ts";
import { overridesStore } from "../../daemon/store/overrides-store.ts";
import type { Db } from "../../daemon/store/pg-pool.ts";
import { CoordinationRedis } from "../../daemon/store/redis/coordination-redis.ts";
import { HealGatesStore } from "../../daemon/store/redis/heal-gates-store.ts";
import { HeartbeatStore } from "../../daemon/store/redis/heartbeat-store.ts";
import { ReadySignal } from "../../daemon/store/redis/ready-signal.ts";
import { type RedisKeys, redisKeys } from "../../daemon/store/redis/redis-keys.ts";
import { TaskQueues } from "../../daemon/store/redis/task-queues.ts";
import { TaskStore } from "../../daemon/store/task-store.ts";
import { retryDelayMs } from "../../daemon/tasks/backoff.ts";
import { TaskDispatch } from "../../daemon/tasks/task-dispatch.ts";
import type { ClaimPolicy } from "../../daemon/tasks/task-ports.ts";
import type { OverseerMetrics } from "../../daemon/telemetry/metrics.ts";
import { DispatchGate } from "../../recovery/dispatch-gate.ts";

export interface DispatchParts {
  config: OverseerConfig;
  db: Db;
  /** Commands (bounded retries), the pub/sub publisher, the liveness scripts. */
  redis: Redis;
  /** BullMQ's connection (it needs maxRetriesPerRequest: null). */
  bullConnection: Redis;
  /** The ready signal's subscriber. */
  subscriber: Redis;
  bus: EventBus;
  metrics: OverseerMetrics;
  onError: (error: unknown, context: string) => void;
}

/** The stores and the dispatch layer every area builds on, and the one policy that can stop a claim. */
export interface DispatchLayer {
  keys: RedisKeys;
  taskStore: TaskStore;
  agentStore: AgentStore;
  liveness: HeartbeatStore;
  queues: TaskQueues;
  ready: ReadySignal;
  dispatch: TaskDispatch;
  /** Emergency overrides' cached flags (stop_all_tasks, system_maintenance), read by claims and intake. */
  overrideGate: OverrideGate;
  /** Auto-heal's quarantines and circuits (recovery/), obeyed by every replica's claims. */
  healGates: DispatchGate;
  /** Operator reassignments: directed hand-offs a claim takes first (daemon/coordination/). */
  directed: CoordinationRedis;
  claimPolicy: ClaimPolicy;
}

export async function wireDispatch(p: DispatchParts): Promise<DispatchLayer> {
  const { config, db, onError } = p;
  const keys = redisKeys(config.namespace);
  const taskStore = new TaskStore(db, {
    delayMs: (n) => retryDelayMs(n, config.retryBaseMs, config.retryMaxMs),
  });
  const agentStore = new AgentStore(db, taskStore);
  const liveness = new HeartbeatStore(p.redis, keys);
  const queues = new TaskQueues(p.bullConnection, keys.bullPrefix, (e) => onError(e, "bullmq"));
  const ready = new ReadySignal(p.redis, p.subscriber, keys.readyChannel, (e) => onError(e, "ready signal"));
  await ready.start();
  // The overrides' gate is refreshed from Postgres; the expiry check runs on every replica (a
  // conditional UPDATE ends each override once).
  const overrideGate = new OverrideGate(
    () => overridesStore.activeActions(db),
    (counts) => {
      for (const [action, n] of Object.entries(counts)) p.metrics.overrideActive.set({ action }, n);
    },
    (e) => onError(e, "read overrides"),
  );
  await overrideGate.refresh();
  const healGates = new DispatchGate(new HealGatesStore(p.redis, keys.healGates));
  const directed = new CoordinationRedis(p.redis, keys);
  return {
    keys,
    taskStore,
    agentStore,
    liveness,
    queues,
    ready,
    dispatch: new TaskDispatch(queues, ready, liveness, p.bus, onError),
    overrideGate,
    healGates,
    directed,
    claimPolicy: {
      dispatchPaused: () => overrideGate.dispatchPaused(),
      isQuarantined: (name) => healGates.isQuarantined(name),
      isCircuitOpen: (type) => healGates.isCircuitOpen(type),
      takeDirected: (agentId, max) => directed.takeFor(agentId, max),
    },
  };
}
