import { type AuditFilter, type AuditPage, type AuditRecord, auditLog } from "../store/audit-log.ts";
import type { Db } from "../store/pg-pool.ts";

export type { AuditFilter, AuditPage, AuditRecord };

/**
 * The audit log as a service, for those who may not reach a store (the API's GET /api/audit, and
 * recovery's restarts and heal actions): each record commits by itself. Services that must commit
 * an action and its record together write `auditLog.record` inside their own transaction instead.
 */
export class AuditService {
  constructor(private readonly db: Db) {}

  /** Records one action, committed on return. */
  async record(entry: AuditRecord): Promise<void> {
    await auditLog.record(this.db, entry);
  }

  /** Newest first, one page; `nextBefore` continues the listing, null at its end. */
  query(filter: AuditFilter): Promise<AuditPage> {
    return auditLog.query(this.db, filter);
  }
}
