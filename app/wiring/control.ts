import type { Redis } from "ioredis";
import type { OverseerConfig } from "../../daemon/config/compile-config.ts";
import { AuditService } from "../../daemon/control/audit-service.ts";
import { CoordinationReads } from "../../daemon/coordination/coordination-reads.ts";
import { CoordinationService } from "../../daemon/coordination/coordination-service.ts";
import type { LoopStatus } from "../../daemon/coordination/diagnostics-findings.ts";
import type { EventBus } from "../../daemon/events/event-bus.ts";
import { OverrideService } from "../../daemon/overrides/override-service.ts";
import { retentionPurges } from "../../daemon/retention/retention-purges.ts";
import { RetentionService } from "../../daemon/retention/retention-service.ts";
import type { Db } from "../../daemon/store/pg-pool.ts";
import type { LoopSpec } from "../leader-loops.ts";
import type { DispatchLayer } from "./dispatch.ts";
import type { TaskArea } from "./tasks.ts";

/** The operator's levers and the housekeeping: coordination, emergency overrides, the audit log, retention. */
export function wireControl(p: {
  config: OverseerConfig;
  db: Db;
  redis: Redis;
  bus: EventBus;
  layer: DispatchLayer;
  tasks: TaskArea;
  /** Every loop's status, for the diagnostics (read when asked, after the loops exist). */
  loopStatus: () => LoopStatus[];
  onError: (error: unknown, context: string) => void;
}) {
  const { config, db, bus, layer, onError } = p;
  // Coordination (docs/coordination.md): reads and levers; reassigned tasks reach their target
  // through a directed list the claim path reads first.
  const coordination = {
    reads: new CoordinationReads({
      db,
      queues: layer.queues,
      liveness: layer.liveness,
      redis: layer.directed,
      loops: p.loopStatus,
      sweepIntervalMs: config.sweepIntervalMs,
    }),
    levers: new CoordinationService({
      db,
      tasks: p.tasks.tasks,
      taskStore: layer.taskStore,
      queues: layer.queues,
      reconciler: p.tasks.reconciler,
      liveness: layer.liveness,
      redis: layer.directed,
      bus,
      quarantined: (name) => layer.healGates.isQuarantined(name),
    }),
  };
  const agents = p.tasks.agents;
  const overrides = new OverrideService(
    db,
    p.tasks.tasks,
    layer.taskStore,
    layer.dispatch,
    layer.queues,
    layer.liveness,
    bus,
    layer.overrideGate,
    (agentId, reason) => agents.move(agentId, ["active", "stale"], "draining", reason),
    onError,
  );
  // Retention (docs/retention.md): the leader deletes finished history older than its keep, in
  // bounded batches, each a fenced transaction, each table's rows deleted by that table's owner.
  const retention = new RetentionService(db, retentionPurges({ tasks: layer.taskStore }), bus, {
    keep: config.retention,
    // Deleted agents leave the Redis state mirror too: it keeps ended agents (a late heartbeat
    // gets 404), so without this it grows by one field per agent ever registered (docs/soak.md).
    onAgentsDeleted: async (ids) => {
      await p.redis.hdel(layer.keys.agentStates, ...ids);
    },
  });
  const loops: LoopSpec[] = [
    { name: "retention", everyMs: config.retentionIntervalMs, leader: () => retention.run() },
    { name: "overrides", everyMs: config.overrideCheckIntervalMs, replica: () => overrides.expireDue() },
  ];
  return { coordination, overrides, audit: new AuditService(db), loops };
}

export type ControlArea = ReturnType<typeof wireControl>;
