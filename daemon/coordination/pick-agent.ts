/**
 * Pure choice of the agent a reassigned task goes to (docs/coordination.md). A candidate must be
 * active (in Postgres and in the Redis mirror), not quarantined by auto-heal, and list the task's
 * type as a capability; among them
 * the least loaded wins: fewest held leases per unit of concurrency, then fewest leases, then id.
 */

export interface Candidate {
  id: string;
  /** State in Postgres, and in the Redis mirror (null when the mirror lacks the agent). */
  state: string;
  mirrorState: string | null;
  /** Its registration name is quarantined (recovery/dispatch-gate.ts): it would claim nothing. */
  quarantined: boolean;
  capabilities: string[];
  concurrency: number;
  leases: number;
}

export type Pick =
  | { ok: true; agentId: string }
  | { ok: false; code: "not_found" | "unsuitable"; why: string };

const healthy = (c: Candidate) => c.state === "active" && (c.mirrorState ?? "active") === "active";

/** Checks an agent the operator named. */
export function checkNamed(named: Candidate | undefined, taskType: string, holder: string | null): Pick {
  if (!named) return { ok: false, code: "not_found", why: "no such agent" };
  if (named.state === "dead" || named.state === "left") {
    return { ok: false, code: "not_found", why: `agent ${named.id} is ${named.state}` };
  }
  if (!healthy(named)) {
    return {
      ok: false,
      code: "unsuitable",
      why: `agent ${named.id} is ${named.mirrorState ?? named.state}, not active`,
    };
  }
  if (named.quarantined) {
    return { ok: false, code: "unsuitable", why: `agent ${named.id} is quarantined by auto-heal` };
  }
  if (!named.capabilities.includes(taskType)) {
    return { ok: false, code: "unsuitable", why: `agent ${named.id} cannot take tasks of type ${taskType}` };
  }
  if (named.id === holder)
    return { ok: false, code: "unsuitable", why: `agent ${named.id} already holds the task` };
  return { ok: true, agentId: named.id };
}

/** The least-loaded healthy capable agent other than the current holder. */
export function pickLeastLoaded(candidates: Candidate[], taskType: string, holder: string | null): Pick {
  const fit = candidates.filter(
    (c) => healthy(c) && !c.quarantined && c.capabilities.includes(taskType) && c.id !== holder,
  );
  if (fit.length === 0) {
    return { ok: false, code: "unsuitable", why: `no other active agent can take tasks of type ${taskType}` };
  }
  fit.sort(
    (a, b) =>
      a.leases / Math.max(1, a.concurrency) - b.leases / Math.max(1, b.concurrency) ||
      a.leases - b.leases ||
      a.id.localeCompare(b.id),
  );
  return { ok: true, agentId: (fit[0] as Candidate).id };
}
