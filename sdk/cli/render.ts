/** Text rendering for the CLI: pure functions from data to lines, so they test without a terminal. */

/** A left-aligned table with a header row; cells are stringified, null and undefined shown as `-`. */
export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  if (rows.length === 0) return "(none)";
  const cell = (v: unknown): string =>
    v === null || v === undefined ? "-" : typeof v === "object" ? JSON.stringify(v) : String(v);
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join("\n");
}

/** `[#######.....]  58%`: a bar of `width` cells for a percentage clamped to 0..100. */
export function progressBar(percent: number, width = 24): string {
  const p = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
  const filled = Math.round((p / 100) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.round(p)).padStart(3)}%`;
}

/** One line per running pipeline run, with its progress bar, newest first. */
export function runBars(runs: Map<string, { template: string; percent: number; state: string }>): string[] {
  return [...runs.entries()].map(
    ([id, r]) => `${progressBar(r.percent)}  ${r.template.padEnd(12)} ${id.slice(0, 8)} ${r.state}`,
  );
}

/** One line for a feed event: time, type and its most telling fields. */
export function eventLine(event: Record<string, unknown>): string {
  const at = typeof event.at === "number" ? new Date(event.at).toISOString().slice(11, 23) : "--:--:--.---";
  const keys = [
    "agentId",
    "role",
    "taskId",
    "taskType",
    "runId",
    "template",
    "stepId",
    "percent",
    "reason",
    "loop",
    "message",
    "outcome",
  ];
  const fields = keys
    .filter((k) => event[k] !== undefined && event[k] !== null)
    .map((k) => `${k}=${typeof event[k] === "object" ? JSON.stringify(event[k]) : String(event[k])}`);
  return `${at} ${String(event.type).padEnd(26)} ${fields.join(" ")}`.trimEnd();
}

/**
 * The system health answer as a few lines: overall status; when it is not ok, each failing
 * component (degraded or down) and why; then one line per component.
 */
export function healthLines(health: {
  status: string;
  score: number;
  components: Record<string, { status: string; latencyMs: number | null; detail?: unknown }>;
  overrides: unknown[];
  checkedAt: string;
}): string {
  const rows = Object.entries(health.components).map(([name, c]) => ({
    component: name,
    status: c.status,
    latencyMs: c.latencyMs,
  }));
  const failing = Object.entries(health.components).filter(
    ([name, c]) => name !== "overrides" && (c.status === "degraded" || c.status === "down"),
  );
  const why =
    failing.length === 0
      ? []
      : [
          "",
          `${health.status} because of: ${failing.map(([name]) => name).join(", ")}`,
          ...failing.map(([name, c]) => `  ${name} ${c.status}: ${componentProblem(name, c)}`),
        ];
  return [
    `status ${health.status}  score ${health.score}/100  active overrides ${health.overrides.length}  (${health.checkedAt})`,
    ...why,
    "",
    table(rows, ["component", "status", "latencyMs"]),
  ].join("\n");
}

/** A value on one line: strings as they are, anything else as compact JSON, cut at `max` characters. */
export function inline(v: unknown, max = 200): string {
  if (v === null || v === undefined) return "-";
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max)}… (--json shows all)` : s;
}

/** `label  value` lines with the labels padded to one width. */
function fields(rows: Array<[string, unknown]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${inline(v)}`).join("\n");
}

/** The tasks-by-state totals as `ready 3 · active 1 · delayed 2`, or `none`. */
export function totalsLine(totals: Record<string, unknown> | null | undefined): string {
  const entries = Object.entries(totals ?? {});
  return entries.length === 0 ? "none" : entries.map(([state, n]) => `${state} ${String(n)}`).join(" · ");
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});

/** An attempt's or task's error `{message, category, retryable}` as one line. */
function errorText(e: unknown): string | null {
  if (e === null || e === undefined) return null;
  const o = obj(e);
  if (typeof o.message !== "string") return inline(e);
  const tags = [
    typeof o.category === "string" ? o.category : null,
    o.retryable === false ? "permanent" : null,
  ];
  const tagged = tags.filter(Boolean).join(", ");
  return tagged ? `${o.message} (${tagged})` : o.message;
}

/** One task (`GET /api/tasks/:id`): its fields, then one row per attempt. */
export function taskLines(task: Obj): string {
  const progress = obj(task.progress);
  const attempts = Array.isArray(task.attempts) ? (task.attempts as Obj[]) : [];
  const rows: Array<[string, unknown]> = [
    ["task", task.id],
    ["type", task.type],
    ["state", task.state],
    ["priority", task.priority],
    [
      "attempts",
      `${attempts.length} (${String(task.failures ?? 0)} of ${String(task.maxAttempts ?? "?")} failures allowed)`,
    ],
    ["timeout", typeof task.timeoutMs === "number" ? `${task.timeoutMs} ms` : task.timeoutMs],
  ];
  if (task.progress) {
    const pct = typeof progress.percent === "number" ? `${progress.percent}%` : "-";
    rows.push(["progress", `${pct}${typeof progress.message === "string" ? ` ${progress.message}` : ""}`]);
  }
  if (task.leaseAgentId) rows.push(["lease agent", task.leaseAgentId]);
  if (task.nextAttemptAt) rows.push(["next attempt", task.nextAttemptAt]);
  if (task.idempotencyKey) rows.push(["idempotency", task.idempotencyKey]);
  rows.push(["created", task.createdAt], ["updated", task.updatedAt], ["finished", task.finishedAt]);
  if (task.deadReason) rows.push(["dead reason", task.deadReason]);
  if (task.error !== undefined && task.error !== null) rows.push(["error", errorText(task.error)]);
  rows.push(["payload", task.payload]);
  if (task.result !== undefined) rows.push(["result", task.result]);
  const attemptRows = attempts.map((a) => ({ ...a, error: errorText(a.error) }));
  return [
    fields(rows),
    "",
    table(attemptRows, ["attempt", "agentId", "claimedAt", "finishedAt", "outcome", "error"]),
  ].join("\n");
}

/** Why one health component is not ok, in words, from its `detail` (docs/probes.md). */
export function componentProblem(name: string, c: { status: string; detail?: unknown }): string {
  const d = obj(c.detail);
  if (typeof d.error === "string") return d.error;
  switch (name) {
    case "postgres":
      if (Array.isArray(d.migrationsPending) && d.migrationsPending.length > 0)
        return `migrations not applied: ${d.migrationsPending.join(", ")}`;
      break;
    case "leader":
      if (typeof d.message === "string") return d.message;
      break;
    case "loops": {
      const failing = Object.entries(obj(d.failingInLastMinute));
      if (failing.length > 0)
        return failing.map(([loop, e]) => `loop ${loop} failed: ${inline(obj(e).lastError, 120)}`).join("; ");
      break;
    }
    case "agents": {
      const roles = Object.entries(obj(d.byRole));
      if (roles.length === 0) return "no agents seen within the hour";
      const idle = roles.filter(([, states]) => !Number(obj(states).active)).map(([role]) => role);
      if (idle.length > 0) return `no active agent for role ${idle.join(", ")}`;
      break;
    }
    case "queues":
      if (typeof d.oldestReadyAgeSeconds === "number")
        return `oldest claimable task has waited ${Math.round(d.oldestReadyAgeSeconds)} s (degraded after ${String(d.degradedAfterSeconds)} s; ${String(d.ready)} ready)`;
      break;
    case "canary": {
      const failed = (Array.isArray(d.roles) ? (d.roles as Obj[]) : []).filter(
        (r) => r.outcome !== "success",
      );
      if (failed.length > 0)
        return failed
          .map((r) => `role ${String(r.role)} ${String(r.outcome)}: ${inline(r.detail, 120)}`)
          .join("; ");
      if (typeof d.message === "string") return d.message;
      break;
    }
    case "eventLoop":
      if (typeof d.p99Seconds === "number") return `event-loop delay p99 ${d.p99Seconds.toFixed(3)} s`;
      break;
  }
  return `detail ${inline(c.detail, 160)}`;
}
