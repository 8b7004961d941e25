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

/** The system health answer as a few lines: overall status, then one line per component. */
export function healthLines(health: {
  status: string;
  score: number;
  components: Record<string, { status: string; latencyMs: number | null }>;
  overrides: unknown[];
  checkedAt: string;
}): string {
  const rows = Object.entries(health.components).map(([name, c]) => ({
    component: name,
    status: c.status,
    latencyMs: c.latencyMs,
  }));
  return [
    `status ${health.status}  score ${health.score}/100  active overrides ${health.overrides.length}  (${health.checkedAt})`,
    "",
    table(rows, ["component", "status", "latencyMs"]),
  ].join("\n");
}
