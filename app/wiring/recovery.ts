import { readFile } from "node:fs/promises";
import type { AgentService } from "../../daemon/agents/agent-service.ts";
import { ConfigError, type OverseerConfig } from "../../daemon/config/compile-config.ts";
import { AuditService } from "../../daemon/control/audit-service.ts";
import type { EventBus } from "../../daemon/events/event-bus.ts";
import { HealObservationsStore } from "../../daemon/store/heal-observations-store.ts";
import { withAdvisoryLock } from "../../daemon/store/locks-store.ts";
import type { Db } from "../../daemon/store/pg-pool.ts";
import type { TaskService } from "../../daemon/tasks/task-service.ts";
import type { OverseerMetrics } from "../../daemon/telemetry/metrics.ts";
import { AgentRestarter } from "../../recovery/agent-restart.ts";
import type { DispatchGate } from "../../recovery/dispatch-gate.ts";
import { HealObserver } from "../../recovery/heal/heal-observer.ts";
import { HEAL_LOCK_WAIT_MS, HealService } from "../../recovery/heal/heal-service.ts";
import { parseManagedAgents } from "../../recovery/managed/managed-config.ts";
import { ManagedSupervisor } from "../../recovery/managed/managed-supervisor.ts";
import type { RecoveryDeps } from "../../recovery/recovery-deps.ts";
import type { LoopSpec } from "../leader-loops.ts";

export interface RecoveryParts {
  config: OverseerConfig;
  db: Db;
  agents: AgentService;
  tasks: TaskService;
  bus: EventBus;
  metrics: OverseerMetrics;
  /** Quarantines and circuits; built before the claim path, which obeys them. */
  gate: DispatchGate;
  onError: (error: unknown, context: string) => void;
}

/** Recovery as the daemon runs it: the API's deps, loops to start, and the managed processes. */
export interface RecoveryRuntime {
  deps: RecoveryDeps;
  /** The gate refresh (every replica) and the auto-heal pass (leader only, when configured). */
  loops: LoopSpec[];
  /** Starts the managed agents once the API listens (they register with it). */
  startManaged(url: string): void;
  /** Stops the managed agents (a bounded shutdown step), every one of them gone by `deadlineAt` (epoch ms). */
  stop(deadlineAt?: number): Promise<void>;
}

/** Builds recovery from the daemon's parts; a bad managed-agents file is a configuration error. */
export async function wireRecovery(p: RecoveryParts): Promise<RecoveryRuntime> {
  const { config, bus, metrics } = p;
  let supervisor: ManagedSupervisor | null = null;
  if (config.managedAgentsFile) {
    let specs: ReturnType<typeof parseManagedAgents>;
    try {
      specs = parseManagedAgents(await readFile(config.managedAgentsFile, "utf8"));
    } catch (error) {
      throw new ConfigError([`OVERSEER_MANAGED_AGENTS_FILE: ${(error as Error).message}`]);
    }
    supervisor = new ManagedSupervisor(
      specs,
      { OVERSEER_AGENT_SECRET: config.agentSecret },
      {
        started: (s) => bus.emit("managed.started", s),
        exited: (s) =>
          bus.emit("managed.exited", {
            name: s.name,
            replica: s.replica,
            pid: s.pid,
            code: s.exit.code,
            signal: s.exit.signal,
            decision: s.decision.kind,
            reason: s.decision.reason,
            delayMs: s.decision.kind === "restart" ? s.decision.delayMs : 0,
          }),
        gaveUp: (s) => bus.emit("managed.gave_up", s),
        states: (counts) => {
          // The entries' restart and give-up counters exist at 0 from their first report.
          metrics.known.managed(counts.keys());
          for (const [name, byState] of counts) {
            for (const [state, n] of byState) metrics.managedAgents.set({ name, state }, n);
          }
        },
      },
      p.onError,
    );
  }
  const gate = p.gate;
  const audit = new AuditService(p.db);
  const restarter = new AgentRestarter(p.agents, p.tasks, audit, bus, supervisor);
  const heal = new HealService(
    // Passes are serialised across replicas, so two never both spend the same allowance.
    (pass) => withAdvisoryLock(p.db, "overseer_heal", HEAL_LOCK_WAIT_MS, pass),
    new HealObserver(new HealObservationsStore(p.db)),
    p.agents,
    p.tasks,
    audit,
    restarter,
    gate,
    supervisor,
    bus,
    {
      windowMs: config.healWindowMs,
      maxActionsPerKind: config.healMaxActions,
      maxRestartsPerTarget: config.healMaxAgentRestarts,
    },
  );
  // Quarantines and circuits are set on one replica and obeyed by all: each re-reads them each second.
  const loops: LoopSpec[] = [{ name: "dispatch-gate", everyMs: 1_000, replica: () => gate.refresh() }];
  const strategy = config.autoHeal;
  if (strategy !== "off") {
    loops.push({
      name: "auto-heal",
      everyMs: config.autoHealIntervalMs,
      leader: () =>
        heal.heal({ strategy, dryRun: false, actor: "auto-heal", requestId: null, trigger: "loop" }),
    });
  }
  return {
    deps: { restarter, heal, gate, managed: () => supervisor?.list() ?? [] },
    loops,
    startManaged(url) {
      if (!supervisor) return;
      supervisor.setBaseEnv({ OVERSEER_URL: url });
      supervisor.start();
    },
    stop: async (deadlineAt) => supervisor?.stop(deadlineAt),
  };
}
