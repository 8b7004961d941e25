import type { AgentRestarter } from "./agent-restart.ts";
import type { DispatchGate } from "./dispatch-gate.ts";
import type { HealService } from "./heal/heal-service.ts";
import type { ManagedChildView } from "./managed/managed-supervisor.ts";

/** What the recovery routes need: restarts, auto-heal, and reads of managed agents and gates. */
export interface RecoveryDeps {
  restarter: AgentRestarter;
  heal: HealService;
  /** This replica's managed agents (empty when it runs none). */
  managed(): ManagedChildView[];
  gate: DispatchGate;
}
