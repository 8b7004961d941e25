// What TaskService is given at construction besides its stores: the policy that can stop a claim,
// and the port through which whatever owns a task's outcome (a pipeline run) learns of it at once.

/** Everything that can keep a claim from leasing: answered from memory, so the claim path gains no I/O. */
export interface ClaimPolicy {
  /** The stop_all_tasks override (daemon/overrides/override-gate.ts): while true, claims lease nothing. */
  dispatchPaused(): boolean;
  /** Auto-heal's quarantine, by the agent's registration name (the id changes on every registration). */
  isQuarantined(agentName: string): boolean;
  /** Auto-heal's circuit of a task type: its tasks stay queued while it is open. */
  isCircuitOpen(taskType: string): boolean;
  /** Tasks an operator reassigned to this agent (daemon/coordination/), taken before its queues. */
  takeDirected(agentId: string, max: number): Promise<Array<{ taskId: string; type: string | null }>>;
}

/** A policy that never stops a claim (tests, and tools that build a TaskService of their own). */
export const OPEN_CLAIMS: ClaimPolicy = {
  dispatchPaused: () => false,
  isQuarantined: () => false,
  isCircuitOpen: () => false,
  takeDirected: async () => [],
};

/**
 * Told, on the replica that committed it, that a task ended or its lease holder reported progress.
 * Pipelines implement it to move the run of a step's task; events on the bus stay for the exports
 * (metrics, feeds, logs, traces). Implementations must not throw and must not block: they are
 * called on the request path and do their work in the background.
 */
export interface TaskOutcomePort {
  taskEnded(task: {
    taskId: string;
    taskType: string;
    state: "completed" | "failed" | "dead" | "cancelled";
  }): void;
  taskProgressed(task: { taskId: string; taskType: string; percent?: number; message?: string }): void;
}

/** Nobody listens (a daemon without pipelines). */
export const NO_OUTCOME_LISTENER: TaskOutcomePort = { taskEnded: () => {}, taskProgressed: () => {} };
