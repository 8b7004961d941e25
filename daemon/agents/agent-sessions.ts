import { randomUUID } from "node:crypto";
import { SESSION_CLOSE } from "../../contract/agent-session.ts";

/** Why a session ended on this replica (the `reason` label of overseer_agent_session_disconnects_total). */
export const SESSION_CLOSE_REASONS = ["goodbye", "lost", "replaced", "daemon_stopping"] as const;
export type SessionCloseReason = (typeof SESSION_CLOSE_REASONS)[number];

/** The socket under a session, as far as the registry needs it. */
export interface SessionSocket {
  close(code: number, reason: string): void;
}

/** One open session of an agent on this replica. */
export interface AgentSession {
  readonly agentId: string;
  readonly id: string;
  readonly socket: SessionSocket;
  /** The agent said goodbye: its close is not a death. */
  goodbye: boolean;
  /** A newer session of the same agent took over on this replica. */
  replaced: boolean;
}

/** Where the current session of each agent is kept (Redis: shared by every replica). */
export interface SessionDirectory {
  /** Makes the session the agent's current one; answers the one it replaced, if any. */
  open(agentId: string, sessionId: string): Promise<string | null>;
  /** Ends the session if it is still current (no reconnect took over); true when it was. */
  end(agentId: string, sessionId: string): Promise<boolean>;
}

export interface SessionTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface AgentSessionsDeps {
  directory: SessionDirectory;
  /** Declares the agent dead (leases revoked with fencing, tasks queued first); false if it already was. */
  declareDead(agentId: string, reason: string, silentMs: number): Promise<boolean>;
  /** How long a lost session may take to come back before its agent is dead (OVERSEER_SESSION_GRACE_MS). */
  graceMs: number;
  timers?: SessionTimers;
  now?: () => number;
  newId?: () => string;
  /** The metrics: sessions open, closes by reason, resumes, grace expiries. */
  observe: {
    opened(resumed: boolean): void;
    closed(reason: SessionCloseReason): void;
    graceExpired(): void;
  };
  onError(error: unknown, context: string): void;
}

const systemTimers: SessionTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * The agent sessions of this replica and death by disconnect. A process that crashes closes its
 * socket; the kernel tells us at once, so instead of waiting for a heartbeat deadline the agent is
 * suspect the moment its session is lost, and dead unless a new session of the same agent opens on
 * any replica within the grace. Which session is current lives in Redis, so the replica that saw
 * the close and the one that took the reconnect agree without talking to each other.
 */
export class AgentSessions {
  private readonly live = new Map<string, AgentSession>();
  /** Grace timers of lost sessions, cleared on stop (the heartbeat deadline still covers those agents). */
  private readonly pending = new Set<unknown>();
  private stopping = false;
  private readonly timers: SessionTimers;
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(private readonly deps: AgentSessionsDeps) {
    this.timers = deps.timers ?? systemTimers;
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? randomUUID;
  }

  /** Sessions open on this replica. */
  get size(): number {
    return this.live.size;
  }

  /** A session opened: it becomes the agent's current one here and in Redis. */
  async opened(agentId: string, socket: SessionSocket): Promise<AgentSession> {
    const session: AgentSession = { agentId, id: this.newId(), socket, goodbye: false, replaced: false };
    const older = this.live.get(agentId);
    this.live.set(agentId, session);
    if (older) {
      older.replaced = true;
      older.socket.close(SESSION_CLOSE.replaced, "a newer session of this agent took over");
    }
    let previous: string | null = null;
    try {
      previous = await this.deps.directory.open(agentId, session.id);
    } catch (error) {
      // Redis is unreachable: the session still carries the agent's calls, but without its entry
      // a lost session cannot be told from a resumed one, so its death is left to the silence rule.
      this.deps.onError(error, "register a session in Redis");
    }
    this.deps.observe.opened(previous !== null);
    return session;
  }

  /** The agent said goodbye: the close that follows is not a death. */
  goodbye(session: AgentSession): void {
    session.goodbye = true;
  }

  /** The session's socket closed, for whatever reason. */
  closed(session: AgentSession): void {
    if (this.live.get(session.agentId) === session) this.live.delete(session.agentId);
    const reason = closeReason(session, this.stopping);
    this.deps.observe.closed(reason);
    if (reason === "goodbye") {
      // Liveness is back on heartbeats; a later session of the agent is not a resume.
      this.deps.directory.end(session.agentId, session.id).catch((e) => this.deps.onError(e, "end session"));
    } else if (reason === "lost") {
      const lostAt = this.now();
      const timer = this.timers.setTimeout(() => {
        this.pending.delete(timer);
        void this.expire(session, lostAt);
      }, this.deps.graceMs);
      this.pending.add(timer);
    }
    // replaced: the newer session is current. daemon_stopping: the agent reconnects to another
    // replica, which counts a resume; one that never does dies at its heartbeat deadline.
  }

  /** Closes every session for a drain (1012: reconnect elsewhere); none of them counts as lost. */
  stop(): void {
    this.stopping = true;
    for (const timer of this.pending) this.timers.clearTimeout(timer);
    this.pending.clear();
    for (const session of this.live.values()) {
      session.socket.close(SESSION_CLOSE.restarting, "the daemon is draining: reconnect");
    }
  }

  /** The grace is over: unless another session took over meanwhile, the agent is dead. */
  private async expire(session: AgentSession, lostAt: number): Promise<void> {
    try {
      if (this.stopping) return;
      if (!(await this.deps.directory.end(session.agentId, session.id))) return;
      this.deps.observe.graceExpired();
      await this.deps.declareDead(
        session.agentId,
        `session lost without a goodbye; no reconnect within ${this.deps.graceMs} ms`,
        this.now() - lostAt,
      );
    } catch (error) {
      // The heartbeat deadline still ends this agent if we cannot.
      this.deps.onError(error, "declare a disconnected agent dead");
    }
  }
}

/** Why a session closed: pure, from what the session saw and whether the replica is draining. */
export function closeReason(session: AgentSession, stopping: boolean): SessionCloseReason {
  if (session.replaced) return "replaced";
  if (session.goodbye) return "goodbye";
  if (stopping) return "daemon_stopping";
  return "lost";
}
