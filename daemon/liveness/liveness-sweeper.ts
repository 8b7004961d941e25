import type { AgentService } from "../agents/agent-service.ts";
import type { HeartbeatStore } from "../store/redis/heartbeat-store.ts";
import { classifySilence, type LivenessThresholds } from "./classify-silence.ts";

/**
 * One pass of the liveness loop (leader only): reads overdue agents with the Redis clock, decides
 * stale/dead with the pure classifier and applies each transition. Level-triggered: a pass that
 * crashes half-way is finished by the next one, and conditional writes make repeats harmless.
 */
export async function sweepLiveness(
  liveness: HeartbeatStore,
  agents: AgentService,
  thresholds: LivenessThresholds,
  batch = 1_000,
): Promise<{ stale: number; dead: number }> {
  const { now, agents: overdue } = await liveness.overdue(thresholds.staleAfterMs, batch);
  const transitions = classifySilence(overdue, now, thresholds);
  let stale = 0;
  let dead = 0;
  for (const t of transitions) {
    const moved = await agents.move(t.agentId, [t.from], t.to, `no heartbeat for ${t.ageMs} ms`, t.ageMs);
    if (moved && t.to === "stale") stale++;
    if (moved && t.to === "dead") dead++;
  }
  return { stale, dead };
}
