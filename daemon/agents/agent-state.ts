import { AGENT_STATES as STATES } from "../../contract/schemas/agents.ts";
import type { AgentStateName } from "../events/catalogue.ts";

/**
 * The agent lifecycle, as a table. `dead` and `left` are terminal: an agent that comes back
 * registers again and gets a new id, so a revoked lease can never be revived by a late heartbeat.
 *
 *   register ──▶ active ◀──heartbeat── stale
 *                  │  ╲                  ▲ │
 *      heartbeat   │   ╲ silence>stale ──┘ │ silence>dead
 *   (draining)     ▼    ╲                  ▼
 *               draining ──silence>stale─▶ stale ──▶ dead (leases revoked)
 *   deregister from any live state ──▶ left (leases released)
 */
export const AGENT_STATES = STATES satisfies readonly AgentStateName[];

export const LIVE_AGENT_STATES: readonly AgentStateName[] = ["active", "stale", "draining"];

export type AgentEvent =
  | { kind: "heartbeat"; status: "active" | "draining" }
  | { kind: "silence"; ageMs: number; staleAfterMs: number; deadAfterMs: number }
  | { kind: "deregister" };

/** Returns the state an agent moves to on an event, or the same state when nothing changes. */
export function nextAgentState(current: AgentStateName, event: AgentEvent): AgentStateName {
  if (current === "dead" || current === "left") return current;
  switch (event.kind) {
    case "deregister":
      return "left";
    case "heartbeat":
      return event.status === "draining" ? "draining" : "active";
    case "silence":
      if (event.ageMs >= event.deadAfterMs) return "dead";
      if (event.ageMs >= event.staleAfterMs) return "stale";
      return current;
  }
}

/** True for states in which an agent may hold leases. */
export function isLive(state: AgentStateName): boolean {
  return LIVE_AGENT_STATES.includes(state);
}

/** True for states in which an agent may claim new work. */
export function canClaim(state: AgentStateName): boolean {
  return state === "active" || state === "stale";
}
