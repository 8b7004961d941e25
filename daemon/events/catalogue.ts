/**
 * The catalogue of every fact the daemon emits. One event per state change; sinks (metrics, logs,
 * and later WebSocket feeds and traces) subscribe to the bus instead of being called from five places.
 */
export interface EventPayloads {
  "agent.registered": { agentId: string; name: string; role: string; capabilities: string[] };
  "agent.recovered": { agentId: string; role: string; from: AgentStateName };
  "agent.stale": { agentId: string; role: string; from: AgentStateName; heartbeatAgeMs: number };
  "agent.dead": { agentId: string; role: string; from: AgentStateName; heartbeatAgeMs: number };
  "agent.draining": { agentId: string; role: string; from: AgentStateName };
  "agent.left": { agentId: string; role: string; from: AgentStateName };
  "agent.heartbeat": { agentId: string };
  "task.submitted": { taskId: string; taskType: string; priority: number };
  "task.claimed": { taskId: string; taskType: string; agentId: string; attempt: number; queueWaitMs: number };
  "task.progress": { taskId: string; taskType: string; agentId: string; percent?: number; message?: string };
  "task.completed": {
    taskId: string;
    taskType: string;
    agentId: string;
    attempt: number;
    durationMs: number;
  };
  "task.failed": {
    taskId: string;
    taskType: string;
    agentId: string;
    attempt: number;
    category: string;
    retryable: boolean;
    durationMs: number;
  };
  "task.retry_scheduled": { taskId: string; taskType: string; attempt: number; delayMs: number };
  "task.requeued": {
    taskId: string;
    taskType: string;
    agentId: string;
    reason: RequeueReason;
    attempt: number;
  };
  "task.dead_lettered": { taskId: string; taskType: string; reason: string };
  "task.failed_permanently": { taskId: string; taskType: string; reason: string };
  "task.retried_by_operator": { taskId: string; taskType: string };
  "lease.conflict": { taskId: string; operation: "progress" | "complete" | "fail" | "release" };
  "leader.acquired": { epoch: number };
  "leader.lost": { epoch: number };
  "reconcile.repaired": { kind: string; count: number };
  "loop.error": { loop: string; message: string };
}

export type AgentStateName = "active" | "stale" | "dead" | "draining" | "left";

/** Why a lease ended and the task went straight back to the queue. */
export type RequeueReason = "agent_dead" | "agent_left" | "released" | "timed_out";

export type EventType = keyof EventPayloads;

/** Every event type, for checks that the catalogue and its consumers agree. */
export const EVENT_TYPES = [
  "agent.registered",
  "agent.recovered",
  "agent.stale",
  "agent.dead",
  "agent.draining",
  "agent.left",
  "agent.heartbeat",
  "task.submitted",
  "task.claimed",
  "task.progress",
  "task.completed",
  "task.failed",
  "task.retry_scheduled",
  "task.requeued",
  "task.dead_lettered",
  "task.failed_permanently",
  "task.retried_by_operator",
  "lease.conflict",
  "leader.acquired",
  "leader.lost",
  "reconcile.repaired",
  "loop.error",
] as const satisfies readonly EventType[];

export type OverseerEvent = { [K in EventType]: { type: K; at: number } & EventPayloads[K] }[EventType];
export type EventOf<K extends EventType> = Extract<OverseerEvent, { type: K }>;
