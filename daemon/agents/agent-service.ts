import { randomUUID } from "node:crypto";
import type { AgentCommand } from "../../contract/schemas/agents.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { AgentStateName } from "../events/catalogue.ts";
import type { EventBus } from "../events/event-bus.ts";
import type { AgentRecord, AgentStore, TransitionResult } from "../store/agent-store.ts";
import type { Beat, HeartbeatOutcome, HeartbeatStore } from "../store/redis/heartbeat-store.ts";
import { GroupCommit } from "../tasks/group-commit.ts";
import type { TaskService } from "../tasks/task-service.ts";
import { canClaim, isLive } from "./agent-state.ts";

export interface RegisterInput {
  name: string;
  role: string;
  capabilities: string[];
  concurrency?: number;
}

export interface HeartbeatInput {
  status?: "active" | "draining";
  activeTaskIds?: string[];
  load?: number;
}

/** Registrations sharing one statement at most. */
const MAX_REGISTRATIONS_PER_COMMIT = 500;

const TRANSITION_EVENTS = {
  active: "agent.recovered",
  stale: "agent.stale",
  dead: "agent.dead",
  draining: "agent.draining",
  left: "agent.left",
} as const;

/**
 * The agent registry: Postgres keeps agents and every transition; Redis mirrors each live agent's
 * state for the heartbeat path. Capabilities never change after registration, so they are cached.
 */
export class AgentService {
  private readonly cache = new Map<string, AgentRecord>();
  /**
   * Heartbeats that arrive together (10,000 session agents at 1 Hz, or a burst over HTTP) share
   * one Redis pipeline; a lone heartbeat goes at once, so batching adds no wait. At most 200 a
   * pipeline: their answers are written back to back, and a thousand of them at once held the
   * event loop for tens of milliseconds.
   */
  private readonly beats = new GroupCommit<Beat, HeartbeatOutcome>(
    (beats) => this.liveness.beatMany(beats),
    200,
  );

  /**
   * Registrations arriving together (a fleet starting) share one statement and one Redis
   * transaction, as submits do; a lone one goes at once.
   */
  private readonly registrations = new GroupCommit<RegisterInput, AgentRecord>(
    (inputs) => this.registerMany(inputs),
    MAX_REGISTRATIONS_PER_COMMIT,
  );

  constructor(
    private readonly store: AgentStore,
    private readonly liveness: HeartbeatStore,
    private readonly tasks: TaskService,
    private readonly bus: EventBus,
    private readonly heartbeatIntervalMs: number,
    private readonly onError: (error: unknown, context: string) => void,
    private readonly newId: () => string = randomUUID,
  ) {}

  register(input: RegisterInput): Promise<AgentRecord> {
    return this.registrations.submit(input);
  }

  /** Registers many agents: one statement, one Redis transaction; answers in order. */
  private async registerMany(inputs: RegisterInput[]): Promise<AgentRecord[]> {
    const agents = await this.store.insertMany(
      inputs.map((input) => ({
        id: this.newId(),
        name: input.name,
        role: input.role,
        capabilities: [...new Set(input.capabilities)],
        concurrency: input.concurrency ?? 1,
      })),
    );
    await this.liveness.enrollMany(agents.map((a) => a.id));
    for (const agent of agents) {
      this.remember(agent);
      this.bus.emit("agent.registered", {
        agentId: agent.id,
        name: agent.name,
        role: agent.role,
        capabilities: agent.capabilities,
      });
    }
    return agents;
  }

  /**
   * Records a heartbeat and returns the commands waiting for the agent. Throws 404 when the agent
   * is dead, left or unknown: it must register again.
   */
  async heartbeat(agentId: string, input: HeartbeatInput): Promise<{ commands: AgentCommand[] }> {
    const status = input.status ?? "active";
    let outcome = await this.beat(agentId, status, input);
    if (outcome.kind === "unknown") {
      // Redis lost the mirror (restart, failover): repair it from Postgres, the system of record.
      const agent = await this.store.get(agentId);
      if (!agent || !isLive(agent.state)) {
        if (agent) await this.liveness.setState(agentId, agent.state);
        throw new OverseerError(
          "OVS_ERR_AGENT_NOT_FOUND",
          `agent ${agentId} is ${agent?.state ?? "unknown"}`,
        );
      }
      await this.liveness.setState(agentId, agent.state);
      outcome = await this.beat(agentId, status, input);
    }
    if (outcome.kind !== "ok") {
      throw new OverseerError(
        "OVS_ERR_AGENT_NOT_FOUND",
        `agent ${agentId} is ${outcome.kind === "gone" ? outcome.state : "unknown"}`,
      );
    }
    this.bus.emit("agent.heartbeat", { agentId });
    const wanted: AgentStateName = status === "draining" ? "draining" : "active";
    if (outcome.state !== wanted && !(outcome.state === "draining" && wanted === "active")) {
      await this.move(
        agentId,
        [outcome.state],
        wanted,
        status === "draining" ? "agent is draining" : "heartbeat resumed",
      );
    }
    if (outcome.forgottenTaskIds.length > 0) await this.releaseForgotten(agentId, outcome.forgottenTaskIds);
    return { commands: outcome.commands };
  }

  private beat(agentId: string, status: string, input: HeartbeatInput): Promise<HeartbeatOutcome> {
    return this.beats.submit({
      agentId,
      status,
      load: input.load ?? 0,
      activeTaskIds: input.activeTaskIds,
      graceMs: 2 * this.heartbeatIntervalMs,
    });
  }

  /** Deregisters: the agent leaves and its leases go back to the queue without counting an attempt. */
  async deregister(agentId: string): Promise<void> {
    const agent = await this.get(agentId);
    if (!isLive(agent.state))
      throw new OverseerError("OVS_ERR_AGENT_NOT_FOUND", `agent ${agentId} is ${agent.state}`);
    await this.move(agentId, ["active", "stale", "draining"], "left", "deregistered");
  }

  /**
   * Applies a transition decided elsewhere (the liveness sweep, the reconciler): Postgres first,
   * then the Redis mirror, then events and requeues. Returns false when another actor got there first.
   */
  async move(
    agentId: string,
    from: readonly AgentStateName[],
    to: AgentStateName,
    reason: string,
    heartbeatAgeMs = 0,
  ): Promise<boolean> {
    const result = await this.store.transition(agentId, from, to, reason);
    if (!result) return false;
    await this.afterTransition(result, to, heartbeatAgeMs);
    return true;
  }

  private async afterTransition(
    result: TransitionResult,
    to: AgentStateName,
    heartbeatAgeMs: number,
  ): Promise<void> {
    const { agent, from } = result;
    this.remember(agent);
    await this.liveness.setState(agent.id, to);
    const event = TRANSITION_EVENTS[to];
    if (event === "agent.stale" || event === "agent.dead") {
      this.bus.emit(event, { agentId: agent.id, role: agent.role, from, heartbeatAgeMs });
    } else {
      this.bus.emit(event, { agentId: agent.id, role: agent.role, from });
    }
    if (result.ended.length > 0) {
      await this.tasks.afterAttemptEnds(result.ended, to === "dead" ? "agent_dead" : "agent_left");
    }
  }

  /** The agent, from cache or Postgres; 404 when unknown. */
  async get(agentId: string): Promise<AgentRecord> {
    const cached = this.cache.get(agentId);
    if (cached && isLive(cached.state)) return cached;
    const agent = await this.store.get(agentId);
    if (!agent) throw new OverseerError("OVS_ERR_AGENT_NOT_FOUND", `no agent ${agentId}`);
    this.remember(agent);
    return agent;
  }

  /** The agent if it may claim now (state from the Redis mirror, which every replica shares). */
  async claimant(agentId: string): Promise<AgentRecord | null> {
    const agent = await this.get(agentId);
    const states = await this.liveness.states([agentId]);
    const state = states.get(agentId) ?? agent.state;
    if (state === "dead" || state === "left") {
      throw new OverseerError("OVS_ERR_AGENT_NOT_FOUND", `agent ${agentId} is ${state}`);
    }
    return canClaim(state) ? agent : null;
  }

  /** Queues a command for the agent's next heartbeat answer (cancel, drain, restart). */
  async sendCommand(agentId: string, command: AgentCommand): Promise<void> {
    await this.liveness.pushCommand(agentId, command);
  }

  /**
   * Ends the leases an agent that is already dead or left (or unknown) still holds, and queues the
   * tasks again; returns how many. (A crash between marking an agent dead and revoking its leases.)
   */
  async requeueOrphanedLeases(agentId: string): Promise<number> {
    const ends = await this.store.endOrphanedLeases(agentId);
    await this.tasks.afterAttemptEnds(ends, "agent_dead");
    return ends.length;
  }

  /** Ends leases the agent holds but stopped reporting: it lost track of them, so they run elsewhere. */
  private async releaseForgotten(agentId: string, taskIds: string[]): Promise<void> {
    for (const taskId of taskIds) {
      try {
        const token = await this.store.currentLeaseToken(taskId, agentId);
        if (token) await this.tasks.release(taskId, token, agentId);
        else await this.liveness.removeLease(agentId, taskId);
      } catch (error) {
        this.onError(error, `release forgotten lease ${taskId}`);
      }
    }
  }

  private remember(agent: AgentRecord): void {
    if (!isLive(agent.state)) {
      this.cache.delete(agent.id);
      return;
    }
    // Bounded: a cache, never the source of truth.
    if (this.cache.size >= 50_000) this.cache.clear();
    this.cache.set(agent.id, agent);
  }
}
