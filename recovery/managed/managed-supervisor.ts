import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { MANAGED_STATES, type ManagedAgentView, type ManagedState } from "../../contract/schemas/recovery.ts";
import type { ManagedAgentSpec } from "./managed-config.ts";
import {
  decideRestart,
  type ExitInfo,
  RESTART_REQUEST_EXIT_CODE,
  type RestartDecision,
} from "./restart-policy.ts";

// The states and the view of a process are the contract's: GET /api/dashboard/recovery/managed-agents answers them.
export { MANAGED_STATES, type ManagedState };

/** What the supervisor tells the rest of the daemon (events, metrics); every call is synchronous. */
export interface SupervisorSink {
  started(s: { name: string; replica: number; pid: number; restarts: number }): void;
  exited(s: { name: string; replica: number; pid: number; exit: ExitInfo; decision: RestartDecision }): void;
  gaveUp(s: { name: string; replica: number; reason: string }): void;
  states(counts: Map<string, Map<ManagedState, number>>): void;
}

/** A read-only view of one supervised process, for the API and auto-heal (the contract's ManagedAgentView). */
export type ManagedChildView = ManagedAgentView;

interface Slot {
  spec: ManagedAgentSpec;
  replica: number;
  state: ManagedState;
  proc: ChildProcess | null;
  agentId: string | null;
  restartTimes: number[];
  streak: number;
  startedAt: number;
  timer: NodeJS.Timeout | null;
  requested: boolean;
  lastExit: ExitInfo | null;
  /** Resolves the waiters of the next spawn (operator restarts wait for the new pid). */
  onSpawn: Array<(pid: number | null) => void>;
}

const running = (proc: ChildProcess) => proc.exitCode === null && proc.signalCode === null;

/** Signals a child's whole process group (it leads one: spawned detached), else the child alone. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  }
}

/** Whether any process of the group still exists (zombies count until reaped). */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Lines a managed child prints when it registers (sdk/run-agent.ts does): maps the process to its agent id. */
const REGISTERED_LINE = /^agent \S+ registered (\S+)/;

/**
 * Runs the managed agents of this replica as child processes, restarting them by their policy
 * (restart-policy.ts). Only the replica configured with the file runs them: processes belong to a
 * machine, not to the leader. The clock is injected; timers are real.
 */
export class ManagedSupervisor {
  private readonly slots: Slot[] = [];
  private stopping = false;

  constructor(
    specs: ManagedAgentSpec[],
    private baseEnv: Record<string, string>,
    private readonly sink: SupervisorSink,
    private readonly onError: (error: unknown, context: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    for (const spec of specs) {
      for (let replica = 0; replica < spec.replicas; replica++) {
        this.slots.push({
          spec,
          replica,
          state: "stopped",
          proc: null,
          agentId: null,
          restartTimes: [],
          streak: 0,
          startedAt: 0,
          timer: null,
          requested: false,
          lastExit: null,
          onSpawn: [],
        });
      }
    }
  }

  /** Adds to the environment every child gets (the daemon's URL is known only once it listens). */
  setBaseEnv(env: Record<string, string>): void {
    this.baseEnv = { ...this.baseEnv, ...env };
  }

  start(): void {
    for (const slot of this.slots) this.spawn(slot);
    this.report();
  }

  list(): ManagedChildView[] {
    const now = this.now();
    return this.slots.map((s) => ({
      name: s.spec.name,
      replica: s.replica,
      state: s.state,
      pid: s.proc?.pid ?? null,
      agentId: s.agentId,
      restartsInWindow: s.restartTimes.filter((t) => now - t < s.spec.policy.periodMs).length,
      lastExit: s.lastExit,
    }));
  }

  /** The managed child that registered as `agentId`, if this replica runs it. */
  byAgentId(agentId: string): ManagedChildView | null {
    return this.list().find((c) => c.agentId === agentId) ?? null;
  }

  /**
   * Restarts a child now (operator or auto-heal): SIGTERM, SIGKILL after the grace time, then a
   * start at once. A child that was given up is started again with its counters cleared. Resolves
   * with the old and new pid.
   */
  async restart(name: string, replica: number): Promise<{ previousPid: number | null; pid: number | null }> {
    const slot = this.slots.find((s) => s.spec.name === name && s.replica === replica);
    if (!slot) throw new Error(`no managed agent ${name}/${replica}`);
    const previousPid = slot.proc?.pid ?? null;
    const spawned = new Promise<number | null>((resolve) => slot.onSpawn.push(resolve));
    if (slot.state === "failed" || slot.state === "stopped" || slot.state === "backoff") {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      if (slot.state === "failed") {
        slot.restartTimes = [];
        slot.streak = 0;
      }
      slot.restartTimes.push(this.now());
      this.spawn(slot);
    } else {
      slot.requested = true;
      void this.terminate(slot);
    }
    const bound = slot.spec.stopGraceMs + 5_000;
    const pid = await Promise.race([
      spawned,
      new Promise<null>((r) => setTimeout(() => r(null), bound).unref()),
    ]);
    return { previousPid, pid };
  }

  /**
   * Stops every child's process group (SIGTERM, then SIGKILL after its grace time); no restarts
   * afterwards. With `deadlineAt` (epoch ms, the daemon's shutdown budget) each grace time is
   * clamped to what is left of it, and when the deadline comes every group still alive gets
   * SIGKILL, synchronously, before this returns.
   */
  async stop(deadlineAt?: number): Promise<void> {
    this.stopping = true;
    const waits: Promise<void>[] = [];
    const pids: number[] = [];
    for (const slot of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      const pid = slot.proc?.pid;
      if (pid === undefined || !slot.proc || !running(slot.proc)) continue;
      pids.push(pid);
      waits.push(this.terminate(slot, deadlineAt));
    }
    if (deadlineAt === undefined) {
      await Promise.all(waits);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(waits),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, deadlineAt - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    // Out of time (or done): whatever is left of any group is killed now, not after we return.
    for (const pid of pids) if (groupAlive(pid)) signalGroup(pid, "SIGKILL");
  }

  /**
   * SIGTERM to the child's process group, SIGKILL to the group after the grace time (clamped to
   * `deadlineAt`) unless the whole group is gone by then. Resolves once the group is gone, or the
   * SIGKILL was sent and the child itself exited (bounded).
   */
  private terminate(slot: Slot, deadlineAt?: number): Promise<void> {
    const proc = slot.proc;
    const pid = proc?.pid;
    if (!proc || pid === undefined || !running(proc)) return Promise.resolve();
    slot.state = "stopping";
    this.report();
    signalGroup(pid, "SIGTERM");
    const grace = Math.max(
      0,
      Math.min(slot.spec.stopGraceMs, (deadlineAt ?? Number.POSITIVE_INFINITY) - Date.now()),
    );
    const killAt = Date.now() + grace;
    return new Promise<void>((resolve) => {
      const tick = () => {
        // The group outlives its leader when a shell's grandchild ignores SIGTERM: wait for both.
        if (!running(proc) && !groupAlive(pid)) return resolve();
        if (Date.now() >= killAt) {
          signalGroup(pid, "SIGKILL");
          if (!running(proc)) return resolve();
          const bound = setTimeout(resolve, 1_000);
          proc.once("exit", () => {
            clearTimeout(bound);
            resolve();
          });
          return;
        }
        setTimeout(tick, Math.min(25, Math.max(1, killAt - Date.now())));
      };
      tick();
    });
  }

  private spawn(slot: Slot): void {
    if (this.stopping) return;
    const { spec } = slot;
    slot.state = "starting";
    slot.agentId = null;
    slot.startedAt = this.now();
    let proc: ChildProcess;
    try {
      proc = spawn(spec.command, spec.args, {
        env: {
          ...process.env,
          AGENT_NAME: `${spec.name}-${slot.replica}`,
          ...this.baseEnv,
          ...spec.env,
          // Tells the child which entry it is; it shows in its log and lets tools match it.
          OVERSEER_MANAGED_AGENT: `${spec.name}/${slot.replica}`,
        },
        stdio: ["ignore", "pipe", "pipe"],
        // Its own process group: stopping it signals the group, so the grandchildren of
        // `sh -c …` or `npm run …` stop too.
        detached: true,
      });
    } catch (error) {
      this.onError(error, `spawn managed agent ${spec.name}`);
      this.afterExit(slot, null, { code: null, signal: "SPAWN_FAILED", requested: false });
      return;
    }
    slot.proc = proc;
    proc.stderr?.resume();
    if (proc.stdout) {
      createInterface({ input: proc.stdout }).on("line", (line) => {
        const m = REGISTERED_LINE.exec(line);
        if (m && slot.proc === proc) {
          slot.agentId = m[1] as string;
          slot.state = "running";
          this.report();
        }
      });
    }
    proc.once("error", (error) => {
      this.onError(error, `managed agent ${spec.name}`);
      // A failed spawn emits "error" and no "exit".
      if (proc.pid === undefined)
        this.afterExit(slot, proc, { code: null, signal: "SPAWN_FAILED", requested: false });
    });
    // Exit 75 is the child asking to be started again (a restart command reached it through its
    // heartbeat, e.g. from restart_all_agents or another replica): a requested restart, not a crash.
    proc.once("exit", (code, signal) =>
      this.afterExit(slot, proc, {
        code,
        signal,
        requested: slot.requested || code === RESTART_REQUEST_EXIT_CODE,
      }),
    );
    if (proc.pid !== undefined) {
      this.sink.started({
        name: spec.name,
        replica: slot.replica,
        pid: proc.pid,
        restarts: slot.restartTimes.length,
      });
      for (const waiter of slot.onSpawn.splice(0)) waiter(proc.pid);
    }
    this.report();
  }

  private afterExit(slot: Slot, proc: ChildProcess | null, exit: ExitInfo): void {
    if (proc && slot.proc !== proc) return;
    slot.proc = null;
    slot.requested = false;
    slot.lastExit = exit;
    const now = this.now();
    if (now - slot.startedAt >= slot.spec.healthyAfterMs) slot.streak = 0;
    if (this.stopping) {
      slot.state = "stopped";
      this.report();
      return;
    }
    const decision = decideRestart(slot.spec.policy, exit, slot.restartTimes, slot.streak, now);
    this.sink.exited({ name: slot.spec.name, replica: slot.replica, pid: proc?.pid ?? 0, exit, decision });
    if (decision.kind === "give_up") {
      slot.state = "failed";
      this.sink.gaveUp({ name: slot.spec.name, replica: slot.replica, reason: decision.reason });
      for (const waiter of slot.onSpawn.splice(0)) waiter(null);
    } else if (decision.kind === "leave_down") {
      slot.state = "stopped";
      for (const waiter of slot.onSpawn.splice(0)) waiter(null);
    } else {
      if (decision.reason !== "requested") slot.streak++;
      slot.state = "backoff";
      slot.timer = setTimeout(() => {
        slot.timer = null;
        slot.restartTimes.push(this.now());
        // The window only needs its recent entries: keeps the history bounded.
        slot.restartTimes = slot.restartTimes.filter((t) => this.now() - t < slot.spec.policy.periodMs);
        this.spawn(slot);
      }, decision.delayMs);
    }
    this.report();
  }

  private report(): void {
    const counts = new Map<string, Map<ManagedState, number>>();
    for (const slot of this.slots) {
      const byState = counts.get(slot.spec.name) ?? new Map(MANAGED_STATES.map((s) => [s, 0]));
      byState.set(slot.state, (byState.get(slot.state) ?? 0) + 1);
      counts.set(slot.spec.name, byState);
    }
    this.sink.states(counts);
  }
}
