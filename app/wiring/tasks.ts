import { AgentService } from "../../daemon/agents/agent-service.ts";
import type { OverseerConfig } from "../../daemon/config/compile-config.ts";
import type { EventBus } from "../../daemon/events/event-bus.ts";
import { sweepLiveness } from "../../daemon/liveness/liveness-sweeper.ts";
import type { Db } from "../../daemon/store/pg-pool.ts";
import { Reconciler } from "../../daemon/tasks/reconciler.ts";
import { TaskOperator } from "../../daemon/tasks/task-operator.ts";
import type { TaskOutcomePort } from "../../daemon/tasks/task-ports.ts";
import { TaskService } from "../../daemon/tasks/task-service.ts";
import type { LoopSpec } from "../leader-loops.ts";
import type { DispatchLayer } from "./dispatch.ts";

/**
 * Tasks and agents: the lease paths, the registry and liveness, and the reconciler. TaskService is
 * given, at construction, the one policy that can stop a claim and the port that learns of each
 * task's end (pipelines).
 */
export function wireTasks(p: {
  config: OverseerConfig;
  db: Db;
  layer: DispatchLayer;
  bus: EventBus;
  outcomes: TaskOutcomePort;
  onError: (error: unknown, context: string) => void;
}) {
  const { config, layer, bus, onError } = p;
  const tasks = new TaskService(
    p.db,
    layer.taskStore,
    layer.queues,
    layer.dispatch,
    layer.ready,
    layer.liveness,
    bus,
    { maxAttempts: config.defaultMaxAttempts, timeoutMs: config.defaultTaskTimeoutMs },
    layer.claimPolicy,
    p.outcomes,
    onError,
  );
  const operator = new TaskOperator(p.db, layer.taskStore, layer.dispatch, bus, p.outcomes);
  const agents = new AgentService(
    layer.agentStore,
    layer.liveness,
    tasks,
    bus,
    config.heartbeatIntervalMs,
    onError,
  );
  const reconciler = new Reconciler(
    layer.taskStore,
    layer.agentStore,
    layer.queues,
    layer.liveness,
    tasks,
    layer.dispatch,
    bus,
  );
  const loops: LoopSpec[] = [
    {
      name: "liveness",
      everyMs: config.sweepIntervalMs,
      leader: async () => {
        await sweepLiveness(layer.liveness, agents, {
          staleAfterMs: config.agentStaleAfterMs,
          deadAfterMs: config.agentDeadAfterMs,
        });
        await tasks.expireOverdue();
      },
    },
    { name: "reconcile", everyMs: config.reconcileIntervalMs, leader: () => reconciler.run() },
  ];
  return { tasks, operator, agents, reconciler, loops };
}

export type TaskArea = ReturnType<typeof wireTasks>;
