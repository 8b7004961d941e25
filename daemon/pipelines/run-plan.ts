import type { RunState, StepState } from "../../contract/schemas/pipelines.ts";
import { conditionHolds } from "./condition.ts";
import type { StepDefinition } from "./template-types.ts";

export type { RunState, StepState };

export const TERMINAL_RUN_STATES: readonly RunState[] = ["completed", "failed", "cancelled"];
export const isTerminalRun = (s: RunState): boolean => TERMINAL_RUN_STATES.includes(s);

export interface StepStatus {
  id: string;
  state: StepState;
  output?: unknown;
}

export interface RunPlan {
  /** Steps whose dependencies are all done and whose condition holds: start them now. */
  start: string[];
  /** Steps whose condition is false: skipped, which counts as done for their dependants. */
  skip: Array<{ id: string; reason: string }>;
  /** Set when the run is over. */
  finish?: { state: "completed" | "failed"; failedSteps: string[] };
}

const DONE: readonly StepState[] = ["completed", "skipped"];

/**
 * Decides the next moves of a run from its template and the current step states (level-triggered:
 * the same input always gives the same plan, so a restarted daemon converges). Pure.
 */
export function planRun(
  steps: StepDefinition[],
  status: Map<string, StepStatus>,
  runState: RunState,
): RunPlan {
  const plan: RunPlan = { start: [], skip: [] };
  if (isTerminalRun(runState)) return plan;
  const outputs: Record<string, unknown> = {};
  for (const [id, st] of status) if (st.state === "completed") outputs[id] = st.output;

  // Skips cascade within one plan: a skipped step may unblock another whose condition is false too.
  const effective = new Map([...status].map(([id, st]) => [id, st.state]));
  // Ready to start if the run were running: a paused run starts nothing, but must not fail while a
  // branch still waits for its turn.
  const startable: string[] = [];
  let changed = true;
  while (changed) {
    changed = false;
    for (const step of steps) {
      if (effective.get(step.id) !== "pending") continue;
      const deps = step.dependsOn ?? [];
      if (!deps.every((d) => DONE.includes(effective.get(d) as StepState))) continue;
      if (step.condition && !conditionHolds(step.condition, outputs)) {
        plan.skip.push({ id: step.id, reason: `condition on ${step.condition.step} not met` });
        effective.set(step.id, "skipped");
        changed = true;
      } else if (!startable.includes(step.id)) {
        startable.push(step.id);
      }
    }
  }

  if (runState === "running") plan.start = startable;
  const states = [...effective.values()];
  const failed = steps.filter((s) => effective.get(s.id) === "failed").map((s) => s.id);
  if (states.every((s) => DONE.includes(s))) {
    plan.finish = { state: "completed", failedSteps: [] };
  } else if (failed.length > 0 && !states.includes("running") && startable.length === 0) {
    // A failed step blocks its dependants (their dependencies are never all done); once the other
    // branches have finished, the run has failed.
    plan.finish = { state: "failed", failedSteps: failed };
  }
  return plan;
}
