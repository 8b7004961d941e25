import { markdownTable } from "../markdown-table.ts";
import { ratio } from "../stats.ts";
import { type BacklogReassignSide, overseerReassignBacklog } from "./reassign-backlog.ts";
import { bullmqReassign } from "./reassign-bullmq.ts";
import { overseerReassign, type ReassignSide } from "./reassign-overseer.ts";

export interface SessionReassignParams {
  /** The HTTP path's heartbeat interval and dead-after, and BullMQ's stalledInterval and lockDuration. */
  heartbeatMs: number;
  deadAfterMs: number;
  samples: number;
  budgetMs: number;
  /** Tasks of the type kept queued in the backlog run. */
  backlog: number;
  jitter?: boolean;
}

export interface SessionReassignRun {
  heartbeatMs: number;
  deadAfterMs: number;
  /** SDK agents on sessions (the default): death by disconnect. */
  session: ReassignSide | null;
  /** The same, with `backlog` tasks of the type queued. */
  sessionBacklog: BacklogReassignSide | null;
  /** SDK agents on HTTP heartbeats at heartbeatMs / deadAfterMs. */
  http: ReassignSide | null;
  /** Raw BullMQ's stalled-job recovery at stalledInterval heartbeatMs, lockDuration deadAfterMs. */
  bullmq: ReassignSide | null;
  /** Session / HTTP and session / BullMQ (below 1×, sessions are faster). */
  ratios: {
    http: { p50: number | null; p99: number | null };
    bullmq: { p50: number | null; p99: number | null };
  };
}

/**
 * Crash → task claimed by another agent, four ways in one run: SDK agents on sessions, the same
 * under a backlog, SDK agents on HTTP heartbeats, and raw BullMQ's stalled recovery at matching
 * settings. The full suite passes the HTTP and BullMQ sides it already measured at these settings.
 */
export async function reassignSessions(
  p: SessionReassignParams,
  attempt: <T>(what: string, fn: () => Promise<T>) => Promise<T | null>,
  measured?: { http: ReassignSide | null; bullmq: ReassignSide | null },
): Promise<SessionReassignRun> {
  const common = { samples: p.samples, budgetMs: p.budgetMs, jitter: p.jitter };
  const timing = { heartbeatMs: p.heartbeatMs, deadAfterMs: p.deadAfterMs };
  const session = await attempt("reassignment, SDK agents on sessions", () =>
    overseerReassign({ ...timing, ...common, transport: "session" }),
  );
  const sessionBacklog = await attempt(`reassignment on sessions, ${p.backlog} tasks queued`, () =>
    overseerReassignBacklog({ ...timing, ...common, transport: "session", backlog: p.backlog }),
  );
  const http = measured
    ? measured.http
    : await attempt("reassignment, SDK agents on HTTP heartbeats", () =>
        overseerReassign({ ...timing, ...common, transport: "http" }),
      );
  const bullmq = measured
    ? measured.bullmq
    : await attempt("reassignment, raw BullMQ", () =>
        bullmqReassign({ lockDurationMs: p.deadAfterMs, stalledIntervalMs: p.heartbeatMs, ...common }),
      );
  const vs = (b: ReassignSide | null) => ({
    p50: ratio(session?.summary?.p50, b?.summary?.p50),
    p99: ratio(session?.summary?.p99, b?.summary?.p99),
  });
  return { ...timing, session, sessionBacklog, http, bullmq, ratios: { http: vs(http), bullmq: vs(bullmq) } };
}

const ms = (n: number | null | undefined) => (n == null || !Number.isFinite(n) ? "–" : String(Math.round(n)));
const x = (n: number | null | undefined) => (n == null || !Number.isFinite(n) ? "–" : `${n.toFixed(2)}×`);

/** The crash → claimed-elsewhere table: each way's p50 / p99 / max and samples, with the ratios. */
export function reassignSessionsMarkdown(r: SessionReassignRun): string {
  const row = (what: string, s: ReassignSide | null, vsHttp = "", vsBull = ""): string[] => [
    what,
    ms(s?.summary?.p50),
    ms(s?.summary?.p99),
    ms(s?.summary?.max),
    String(s?.summary?.n ?? 0) + (s?.discarded ? ` (${s.discarded} discarded)` : ""),
    vsHttp,
    vsBull,
  ];
  const t = `${r.heartbeatMs} ms / ${r.deadAfterMs} ms`;
  const q = r.sessionBacklog?.queuedAtKill ?? [];
  const rows = [
    [
      "Crash → claimed elsewhere (ms)",
      "p50",
      "p99",
      "max",
      "samples",
      "p50 / p99 vs HTTP",
      "p50 / p99 vs BullMQ",
    ],
    row(
      "**SDK agents on sessions** (death by disconnect)",
      r.session,
      `${x(r.ratios.http.p50)} / ${x(r.ratios.http.p99)}`,
      `${x(r.ratios.bullmq.p50)} / ${x(r.ratios.bullmq.p99)}`,
    ),
    row(
      `… on sessions, backlog of that type (${q.length > 0 ? `${Math.min(...q)}–${Math.max(...q)}` : "–"} queued at the kill)`,
      r.sessionBacklog,
    ),
    row(`SDK agents on HTTP heartbeats, ${t}`, r.http),
    row(`Raw BullMQ stalled recovery, stalledInterval / lockDuration ${t}`, r.bullmq),
  ];
  return markdownTable(rows, ["l", "r", "r", "r", "r", "r", "r"]);
}
