import { type AgentRegistration, MAX_ERROR_BACKOFF_MS } from "./agent-registration.ts";
import type { AgentLifecycleState } from "./agent-types.ts";
import { type ApiCaller, isApiError } from "./http-client.ts";
import { type Clock, sleep } from "./runtime.ts";
import type { TaskLauncher } from "./task-launcher.ts";
import type { TaskTracker } from "./task-tracker.ts";
import type { ClaimedTask, ClaimResponse } from "./types.ts";

export interface ClaimLoopDeps {
  http: ApiCaller;
  clock: Clock;
  /** Tasks run at once. */
  concurrency: number;
  /** How long each claim long-poll may wait on the daemon. */
  claimWaitMs: number;
  requestTimeoutMs: number;
  registration: AgentRegistration;
  tasks: TaskTracker;
  launcher: TaskLauncher;
  /** The agent's stop signal: ends the loop, its pending long-poll and its sleeps. */
  signal: AbortSignal;
  state(): AgentLifecycleState;
  reportError(err: unknown, context: string): void;
}

// Guards against a hot loop when the daemon answers claims at once instead of long-polling.
const MIN_CLAIM_INTERVAL_MS = 100;

/** Long-polls the daemon for as many tasks as there is free capacity, while the agent is RUNNING. */
export class ClaimLoop {
  private readonly deps: ClaimLoopDeps;
  private finished: Promise<void> = Promise.resolve();
  /** The pending claim long-poll; aborted on stop and when the registration it uses goes stale. */
  private claimController: AbortController | undefined;
  private wakeUp: () => void = () => {};

  constructor(deps: ClaimLoopDeps) {
    this.deps = deps;
    deps.signal.addEventListener("abort", () => this.claimController?.abort(), { once: true });
  }

  /** Settles when the loop started last has ended; never rejects. */
  get done(): Promise<void> {
    return this.finished;
  }

  /** Starts the loop in the background; a crash is reported, not thrown. */
  start(): void {
    this.finished = this.run().catch((err: unknown) => this.deps.reportError(err, "claim loop crashed"));
  }

  /** Ends the pending long-poll, if any; the loop then looks at the agent's state again. */
  abortClaim(): void {
    this.claimController?.abort();
  }

  /** Wakes the loop when it waits for free capacity. */
  wake(): void {
    const wakeUp = this.wakeUp;
    this.wakeUp = () => {};
    wakeUp();
  }

  private async run(): Promise<void> {
    const { http, clock, concurrency, claimWaitMs, registration, tasks, signal } = this.deps;
    let failures = 0;
    while (!signal.aborted) {
      const state = this.deps.state();
      if (state === "REGISTERING") {
        await (registration.pending ?? sleep(clock, MIN_CLAIM_INTERVAL_MS, signal));
        continue;
      }
      if (state !== "RUNNING") break;
      const free = concurrency - tasks.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
        });
        continue;
      }
      const session = registration.current!;
      const startedAt = clock.now();
      let claimed: ClaimedTask[];
      const claim = new AbortController();
      this.claimController = claim;
      try {
        const res = await http.request<ClaimResponse>("POST", `/api/agents/${session.id}/claim`, {
          token: session.token,
          body: { max: free, waitMs: claimWaitMs },
          signal: claim.signal,
          timeoutMs: claimWaitMs + this.deps.requestTimeoutMs,
        });
        claimed = Array.isArray(res?.tasks) ? res.tasks : [];
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (claim.signal.aborted) continue;
        if (isApiError(err, 401, 404)) {
          await registration.reRegister(session);
          continue;
        }
        this.deps.reportError(err, "claim failed");
        await sleep(clock, Math.min(MAX_ERROR_BACKOFF_MS, 250 * 2 ** failures++), signal);
        continue;
      } finally {
        this.claimController = undefined;
      }
      // More than asked for would overrun `concurrency`: hand the extra leases straight back.
      for (const [i, task] of claimed.entries()) this.deps.launcher.accept(task, session, i >= free);
      const elapsed = clock.now() - startedAt;
      if (claimed.length === 0 && elapsed < MIN_CLAIM_INTERVAL_MS) {
        await sleep(clock, MIN_CLAIM_INTERVAL_MS - elapsed, signal);
      }
    }
  }
}
