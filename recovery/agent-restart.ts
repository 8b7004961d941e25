import type { AgentService } from "../daemon/agents/agent-service.ts";
import { isLive } from "../daemon/agents/agent-state.ts";
import type { AuditService } from "../daemon/control/audit-service.ts";
import { OverseerError } from "../daemon/errors/overseer-error.ts";
import type { EventBus } from "../daemon/events/event-bus.ts";
import type { TaskService } from "../daemon/tasks/task-service.ts";
import type { ManagedSupervisor } from "./managed/managed-supervisor.ts";

export type RestartMode = "restart" | "drain";

export interface RestartRequest {
  reason: string;
  mode: RestartMode;
  actor: string;
  requestId: string | null;
}

export interface RestartOutcome {
  agentId: string;
  mode: RestartMode;
  /** managed: this replica restarted the process; command: the agent got it in its heartbeat answer. */
  via: "managed" | "command";
  releasedTaskIds: string[];
  managed: { name: string; replica: number; previousPid: number | null; pid: number | null } | null;
}

/**
 * Restarts or drains one agent. Its leases are released first (not counted as attempts), so no task
 * waits on a dying agent: they are queued again at once. The agent is first moved to `draining`,
 * so it claims nothing more. A managed agent run by this replica has its process restarted; any
 * other agent (remote, or managed by another replica) receives `restart` or `drain` in its next
 * heartbeat answer (run-agent then exits 75, and its supervisor starts it again).
 */
export class AgentRestarter {
  constructor(
    private readonly agents: AgentService,
    private readonly tasks: TaskService,
    private readonly audit: AuditService,
    private readonly bus: EventBus,
    private readonly supervisor: ManagedSupervisor | null,
  ) {}

  async restart(agentId: string, req: RestartRequest): Promise<RestartOutcome> {
    const agent = await this.agents.get(agentId);
    const child = this.supervisor?.byAgentId(agentId) ?? null;
    const live = isLive(agent.state);
    if (!live && !(child && req.mode === "restart")) {
      throw new OverseerError("OVS_ERR_AGENT_NOT_FOUND", `agent ${agentId} is ${agent.state}`);
    }
    let releasedTaskIds: string[] = [];
    if (live) {
      if (agent.state !== "draining") {
        await this.agents.move(
          agentId,
          ["active", "stale"],
          "draining",
          `${req.mode} by ${req.actor}: ${req.reason}`,
        );
      }
      releasedTaskIds = await this.tasks.releaseLeasesOf(agentId, `agent ${req.mode} by ${req.actor}`);
      // The agent may still be working on them: tell it to stop, its results would be refused anyway.
      for (const taskId of releasedTaskIds) {
        await this.agents.sendCommand(agentId, { type: "cancel", taskId, reason: "released" });
      }
    }
    let managed: RestartOutcome["managed"] = null;
    let via: RestartOutcome["via"] = "command";
    if (child && req.mode === "restart" && this.supervisor) {
      const pids = await this.supervisor.restart(child.name, child.replica);
      managed = { name: child.name, replica: child.replica, ...pids };
      via = "managed";
    } else {
      await this.agents.sendCommand(agentId, { type: req.mode, reason: req.reason });
    }
    const outcome: RestartOutcome = { agentId, mode: req.mode, via, releasedTaskIds, managed };
    await this.audit.record({
      actor: req.actor,
      action: `agent.${req.mode}`,
      targetKind: "agent",
      targetId: agentId,
      reason: req.reason,
      requestId: req.requestId,
      impact: { releasedTasks: releasedTaskIds.length, via },
      data: { name: agent.name, managed, releasedTaskIds: releasedTaskIds.slice(0, 100) },
    });
    this.bus.emit("agent.restart_requested", {
      agentId,
      mode: req.mode,
      managed: via === "managed",
      releasedTasks: releasedTaskIds.length,
      actor: req.actor,
    });
    this.bus.emit("operator.action", {
      actor: req.actor,
      action: `agent.${req.mode}`,
      targetKind: "agent",
      targetId: agentId,
    });
    return outcome;
  }
}
