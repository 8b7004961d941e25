import { OverseerError } from "../daemon/errors/overseer-error.ts";
import type { Principal } from "./auth.ts";

/** Payloads and results nest at most this deep (deeper ones cannot be stored or serialised safely). */
export const MAX_JSON_DEPTH = 64;

/** True when a parsed JSON value nests deeper than `limit` (iterative: no recursion on hostile input). */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth >= limit) return true;
    for (const child of Object.values(node as object)) stack.push([child, depth + 1]);
  }
  return false;
}

/** The agent a request acts for; throws 403 when an agent token acts on another agent's id. */
export function actingAgent(who: Principal | null, agentId: string): string | null {
  if (who?.kind === "agent") {
    if (who.agentId !== agentId)
      throw new OverseerError("OVS_ERR_FORBIDDEN", "an agent token acts only on its own agent");
    return who.agentId;
  }
  return null;
}
