import type { Static } from "typebox";
import type { ClaimReply } from "../contract/schemas/agents.ts";
import type { TaskService } from "../daemon/tasks/task-service.ts";

type Lease = Awaited<ReturnType<TaskService["claim"]>>[number];

/** What a claim answers per lease, over HTTP and over a session alike. */
export function claimReply(leases: readonly Lease[]): Static<typeof ClaimReply> {
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
