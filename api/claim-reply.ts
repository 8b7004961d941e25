import type { Static } from "typebox";
import type { ClaimReply } from "../contract/schemas/agents.ts";

/** What a claim answers per lease, over HTTP and over a session alike. */
export function claimReply(
  leases: ReadonlyArray<{
    id: string;
    type: string;
    payload: unknown;
    attempt: number;
    leaseToken: string;
    timeoutMs: number;
    traceparent?: string;
  }>,
): Static<typeof ClaimReply> {
  return {
    tasks: leases.map((l) => ({
      id: l.id,
      type: l.type,
      payload: l.payload,
      attempt: l.attempt,
      leaseToken: l.leaseToken,
      timeoutMs: l.timeoutMs,
      ...(l.traceparent ? { traceparent: l.traceparent } : {}),
    })),
  };
}
