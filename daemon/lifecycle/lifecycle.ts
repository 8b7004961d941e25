/**
 * The daemon's lifecycle, Temporal-worker style:
 *   INITIALIZED → STARTING → RUNNING → DRAINING → STOPPED, or FAILED from any state.
 * DRAINING: /readyz answers 503, claims return empty, background loops stop, in-flight requests finish.
 */
import type { LifecycleState } from "../../contract/schemas/health.ts";

export type { LifecycleState };

const ALLOWED: Record<LifecycleState, LifecycleState[]> = {
  INITIALIZED: ["STARTING", "FAILED", "STOPPED"],
  STARTING: ["RUNNING", "DRAINING", "FAILED"],
  RUNNING: ["DRAINING", "FAILED"],
  DRAINING: ["STOPPED", "FAILED"],
  STOPPED: [],
  FAILED: [],
};

export class Lifecycle {
  state: LifecycleState = "INITIALIZED";
  readonly history: LifecycleState[] = ["INITIALIZED"];

  constructor(private readonly onChange: (from: LifecycleState, to: LifecycleState) => void = () => {}) {}

  /** Moves to `to`; throws on a transition the table does not allow. */
  to(to: LifecycleState): void {
    if (!ALLOWED[this.state].includes(to)) throw new Error(`lifecycle: ${this.state} → ${to} is not allowed`);
    const from = this.state;
    this.state = to;
    this.history.push(to);
    this.onChange(from, to);
  }
}
