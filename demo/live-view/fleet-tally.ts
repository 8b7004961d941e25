import type { OverseerEvent } from "../../daemon/events/catalogue.ts";

/** One line of the view's event list: when, and what happened in words. */
export interface NotableEvent {
  at: number;
  text: string;
}

/** What the view shows from the event bus at one moment. */
export interface TallySnapshot {
  /** The window the rates are over: `windowMs`, or less while the tally is younger than that. */
  windowMs: number;
  /** `task.completed` events in the window. */
  completed: number;
  /** `task.failed` events (failed attempts, retried or not) in the window. */
  attemptsFailed: number;
  /** Oldest first. */
  events: NotableEvent[];
}

/** A task taken from an agent that died or left: where it went, once another agent claimed it. */
interface Move {
  taskId: string;
  to: string | null;
}

interface Entry {
  at: number;
  text: string;
  /** Names merged into one "agents registered" line. */
  registered?: string[];
  /** The tasks of a dead or departed agent, and who took each. */
  moves?: Move[];
}

const KEEP = 50;
const MERGE_REGISTRATIONS_MS = 2_000;

export const shortId = (id: string): string => id.slice(0, 8);
const seconds = (ms: number): string => `${(ms / 1_000).toFixed(1)} s`;

/**
 * Counts and narrates the daemon's events for the demo's view: completions and failed attempts over
 * a sliding window (the tasks/s figure), and a short list of the notable facts (an agent dying, its
 * tasks moving to others, a task failing for good) in words. It only reads events the daemon
 * emitted, stamped with the bus clock; nothing here decides anything.
 */
export class FleetTally {
  private readonly names = new Map<string, string>();
  private readonly completions: number[] = [];
  private readonly failures: number[] = [];
  private readonly entries: Entry[] = [];
  /** Agents that died or left, by id, with the entry their tasks are listed under. */
  private readonly ended = new Map<string, Entry>();
  /** Tasks taken from those agents, waiting for another agent to claim them. */
  private readonly pending = new Map<string, Move>();

  constructor(
    private readonly since: number,
    private readonly windowMs = 10_000,
  ) {}

  /** An event-bus sink. */
  readonly onEvent = (e: OverseerEvent): void => {
    switch (e.type) {
      case "agent.registered":
        this.names.set(e.agentId, e.name);
        this.registered(e.at, e.name, e.role);
        return;
      case "agent.stale":
        this.add(
          e.at,
          `agent ${this.name(e.agentId, e.role)} stale (no heartbeat for ${seconds(e.heartbeatAgeMs)})`,
        );
        return;
      case "agent.recovered":
        this.add(e.at, `agent ${this.name(e.agentId, e.role)} recovered (was ${e.from})`);
        return;
      case "agent.dead":
        this.ended.set(
          e.agentId,
          this.add(
            e.at,
            `agent ${this.name(e.agentId, e.role)} dead (no heartbeat for ${seconds(e.heartbeatAgeMs)})`,
          ),
        );
        return;
      case "agent.left":
        this.ended.set(e.agentId, this.add(e.at, `agent ${this.name(e.agentId, e.role)} left`));
        return;
      case "agent.draining":
        this.add(e.at, `agent ${this.name(e.agentId, e.role)} draining`);
        return;
      case "task.completed":
        this.completions.push(e.at);
        return;
      case "task.failed":
        this.failures.push(e.at);
        this.taken(e.agentId, e.taskId);
        return;
      case "task.requeued":
        if (!this.taken(e.agentId, e.taskId) && e.reason === "timed_out")
          this.add(e.at, `task ${shortId(e.taskId)} timed out on ${this.name(e.agentId)}: requeued`);
        return;
      case "task.claimed": {
        const move = this.pending.get(e.taskId);
        if (move) {
          move.to = this.name(e.agentId);
          this.pending.delete(e.taskId);
        }
        return;
      }
      case "task.failed_permanently":
        this.add(e.at, `task ${shortId(e.taskId)} (${e.taskType}) failed for good: ${e.reason}`);
        return;
      case "task.dead_lettered":
        this.add(e.at, `task ${shortId(e.taskId)} (${e.taskType}) dead-lettered: ${e.reason}`);
        return;
      case "pipeline.run.failed":
        this.add(e.at, `run ${shortId(e.runId)} (${e.template}) failed at ${e.failedSteps.join(", ")}`);
        return;
      case "leader.acquired":
        this.add(e.at, `this replica is the leader (epoch ${e.epoch})`);
        return;
      case "leader.lost":
        this.add(e.at, `leadership lost (epoch ${e.epoch}): ${e.reason}`);
        return;
      case "loop.error":
        this.add(e.at, `loop ${e.loop} failed: ${e.message}`);
        return;
      case "heal.action":
        this.add(e.at, `auto-heal ${e.strategy}: ${e.action} ${e.target} (${e.outcome})`);
        return;
      default:
        return;
    }
  };

  /** A fact from the demo itself (not the daemon), such as its SIGKILL of the flaky agent. */
  note(at: number, text: string): void {
    this.add(at, text);
  }

  snapshot(now: number): TallySnapshot {
    const windowMs = Math.max(1, Math.min(this.windowMs, now - this.since));
    const from = now - windowMs;
    prune(this.completions, from);
    prune(this.failures, from);
    return {
      windowMs,
      completed: this.completions.length,
      attemptsFailed: this.failures.length,
      events: this.entries.map((e) => ({ at: e.at, text: describe(e) })),
    };
  }

  private name(agentId: string, role?: string): string {
    return this.names.get(agentId) ?? `${role ?? "agent"} ${shortId(agentId)}`;
  }

  private add(at: number, text: string): Entry {
    const entry: Entry = { at, text };
    this.entries.push(entry);
    while (this.entries.length > KEEP) this.forget(this.entries.shift() as Entry);
    return entry;
  }

  /** Registrations close together (the fleet starting) share a line. */
  private registered(at: number, name: string, role: string): void {
    const last = this.entries.at(-1);
    if (last?.registered && at - last.at <= MERGE_REGISTRATIONS_MS) {
      last.registered.push(name);
      last.at = at;
      last.text = `${last.registered.length} agents registered: ${last.registered.join(", ")}`;
      return;
    }
    const entry = this.add(at, `agent ${name} registered (${role})`);
    entry.registered = [name];
  }

  /** Lists a task under the entry of the dead or departed agent it was taken from; false if none. */
  private taken(agentId: string, taskId: string): boolean {
    const entry = this.ended.get(agentId);
    if (!entry) return false;
    entry.moves ??= [];
    if (!entry.moves.some((m) => m.taskId === taskId)) {
      const move: Move = { taskId, to: null };
      entry.moves.push(move);
      this.pending.set(taskId, move);
    }
    return true;
  }

  private forget(entry: Entry): void {
    for (const [agentId, e] of this.ended) if (e === entry) this.ended.delete(agentId);
    for (const m of entry.moves ?? []) this.pending.delete(m.taskId);
  }
}

function describe(e: Entry): string {
  if (!e.moves) return e.text;
  const moves = e.moves.map(
    (m) => `task ${shortId(m.taskId)} ${m.to === null ? "back in the queue" : `moved to ${m.to}`}`,
  );
  return `${e.text} · ${moves.join(" · ")}`;
}

/** Drops the timestamps before `from` (they arrive in order). */
function prune(times: number[], from: number): void {
  let i = 0;
  while (i < times.length && (times[i] as number) < from) i++;
  times.splice(0, i);
}
