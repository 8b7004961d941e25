import type { AgentEvents, AgentLifecycleState } from "./agent-types.ts";
import { ApiError, type HttpClient, isApiError } from "./http-client.ts";
import { type Clock, type Logger, sleep } from "./runtime.ts";
import type { RegisterRequest, RegisterResponse } from "./types.ts";

/** One registration with the daemon: the id and token the agent acts under until the daemon forgets it. */
export interface Session {
  id: string;
  token: string;
  heartbeatIntervalMs: number;
  leaseTimeoutMs: number | undefined;
}

/** What registration asks of its agent, which owns the lifecycle and the events. */
export interface RegistrationHooks {
  state(): AgentLifecycleState;
  registered(info: AgentEvents["registered"][0]): void;
  /** Re-registration begins: the agent goes REGISTERING. */
  reRegistering(): void;
  /** Re-registered: the agent goes RUNNING again. */
  reRegistered(): void;
  /** The daemon refused a re-registration for good. */
  fail(err: unknown): void;
  reportError(err: unknown, context: string): void;
}

export interface AgentRegistrationDeps {
  http: HttpClient;
  logger: Logger;
  clock: Clock;
  /** Shared secret, used only to register. */
  agentSecret: string;
  request: RegisterRequest;
  /** The agent's stop signal: ends a registration in progress and the retries. */
  signal: AbortSignal;
  hooks: RegistrationHooks;
}

const DEFAULT_HEARTBEAT_MS = 5_000;
/** Loops back off on errors, but not so far that recovery after an outage is slow to notice. */
export const MAX_ERROR_BACKOFF_MS = 5_000;

/** The agent's registration: registers, registers again when the daemon forgot it, deregisters. */
export class AgentRegistration {
  private readonly deps: AgentRegistrationDeps;
  private session: Session | undefined;
  private registering: Promise<void> | undefined;

  constructor(deps: AgentRegistrationDeps) {
    this.deps = deps;
  }

  /** The registration the agent acts under, if any. */
  get current(): Session | undefined {
    return this.session;
  }

  /** The re-registration under way, if any; settles when it is over (never rejects). */
  get pending(): Promise<void> | undefined {
    return this.registering;
  }

  /** Registers (again) and emits "registered"; rejects when the daemon refuses or cannot be reached. */
  async register(): Promise<void> {
    const { http, logger, hooks } = this.deps;
    const res = await http.request<RegisterResponse>("POST", "/api/agents/register", {
      token: this.deps.agentSecret,
      body: this.deps.request,
      signal: this.deps.signal,
    });
    if (typeof res?.id !== "string" || typeof res.token !== "string") {
      throw new ApiError(201, "BAD_RESPONSE", "register answer lacks id or token");
    }
    const interval = res.heartbeatIntervalMs;
    const previousId = this.session?.id;
    this.session = {
      id: res.id,
      token: res.token,
      heartbeatIntervalMs:
        typeof interval === "number" && Number.isFinite(interval) && interval > 0
          ? Math.max(10, interval)
          : DEFAULT_HEARTBEAT_MS,
      leaseTimeoutMs: res.leaseTimeoutMs,
    };
    logger.info({ agentId: res.id, previousId, url: http.baseUrl }, "agent registered");
    hooks.registered(previousId === undefined ? { id: res.id } : { id: res.id, previousId });
  }

  /** Registers again after the daemon forgot `stale`; concurrent callers share one attempt. */
  reRegister(stale: Session): Promise<void> {
    if (this.registering) return this.registering;
    const { clock, logger, hooks, signal } = this.deps;
    if (this.session !== stale || hooks.state() !== "RUNNING") return Promise.resolve();
    logger.warn({ agentId: stale.id }, "daemon no longer knows this agent; registering again");
    hooks.reRegistering();
    this.registering = (async () => {
      for (let attempt = 0; !signal.aborted; attempt++) {
        try {
          await this.register();
          break;
        } catch (err) {
          if (signal.aborted) return;
          if (isApiError(err) && !err.transient) {
            hooks.fail(err);
            return;
          }
          hooks.reportError(err, "registration failed; will retry");
          const delay = Math.min(MAX_ERROR_BACKOFF_MS, stale.heartbeatIntervalMs * 2 ** attempt);
          await sleep(clock, delay, signal);
        }
      }
      if (signal.aborted) return;
      hooks.reRegistered();
    })().finally(() => {
      this.registering = undefined;
    });
    return this.registering;
  }

  /** Deregisters `session`; never rejects (a daemon that already forgot it is fine). */
  async deregister(session: Session): Promise<void> {
    const { http, logger, hooks } = this.deps;
    try {
      await http.request("DELETE", `/api/agents/${session.id}`, { token: session.token });
      logger.info({ agentId: session.id }, "agent deregistered");
    } catch (err) {
      if (isApiError(err, 401, 404)) logger.info({ agentId: session.id }, "agent was already gone");
      else hooks.reportError(err, "deregister failed");
    }
  }
}
