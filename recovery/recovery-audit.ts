import type { Queryable } from "../daemon/store/task-store.ts";

/** One audit record of a recovery action (who, what, why, which request, what it did). */
export interface RecoveryAuditEntry {
  actor: string;
  action: string;
  targetKind: string;
  targetId: string;
  reason: string;
  requestId: string | null;
  impact: unknown;
  data?: unknown;
}

export async function writeAudit(q: Queryable, e: RecoveryAuditEntry): Promise<void> {
  await q.query(
    `INSERT INTO audit_log (actor, action, target_kind, target_id, reason, data, request_id, impact)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      e.actor,
      e.action,
      e.targetKind,
      e.targetId,
      e.reason,
      JSON.stringify(e.data ?? {}),
      e.requestId,
      JSON.stringify(e.impact ?? {}),
    ],
  );
}
