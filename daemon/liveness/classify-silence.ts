import { nextAgentState } from "../agents/agent-state.ts";
import type { AgentStateName } from "../events/catalogue.ts";

export interface SilentAgent {
  agentId: string;
  state: AgentStateName;
  lastHeartbeatAt: number;
}

export interface LivenessThresholds {
  staleAfterMs: number;
  deadAfterMs: number;
}

export interface LivenessTransition {
  agentId: string;
  from: AgentStateName;
  to: "stale" | "dead";
  ageMs: number;
}

/** Works out which agents must become stale or dead at `now`; pure, so the sweep can be tested without timers. */
export function classifySilence(
  agents: SilentAgent[],
  now: number,
  t: LivenessThresholds,
): LivenessTransition[] {
  const out: LivenessTransition[] = [];
  for (const agent of agents) {
    const ageMs = Math.max(0, now - agent.lastHeartbeatAt);
    const to = nextAgentState(agent.state, {
      kind: "silence",
      ageMs,
      staleAfterMs: t.staleAfterMs,
      deadAfterMs: t.deadAfterMs,
    });
    if (to !== agent.state && (to === "stale" || to === "dead"))
      out.push({ agentId: agent.agentId, from: agent.state, to, ageMs });
  }
  return out;
}
