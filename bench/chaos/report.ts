// The printed chaos report: the fault timeline with its evidence, then each check's result.
import type { ChaosVerdict } from "./checker.ts";
import type { ChaosRecords, ProcessEvent } from "./records.ts";

const clock = (t: number) => new Date(t).toISOString().slice(11, 23);
const rel = (t: number, t0: number) => `+${((t - t0) / 1000).toFixed(1)}s`;

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(3, ...rows.map((r) => (r[c] ?? "").length)));
  const fmt = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(" | ")} |`;
  const [head, ...body] = rows;
  return [fmt(head ?? []), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...body.map(fmt)].join(
    "\n",
  );
}

/** The fault timeline (Markdown table): fault, target, start, end, evidence (metric, replica, time). */
export function timelineTable(verdict: ChaosVerdict, loadStart: number): string {
  const rows = [
    ["#", "fault", "target", "start (UTC)", "end (UTC)", "evidence (metric, replica, time)", "ok"],
  ];
  verdict.timeline.forEach((e, i) => {
    const f = e.fault;
    const found = e.evidence.filter((x) => x.required);
    const shown = (found.length > 0 ? found : e.evidence)
      .map((x) => `${x.metric} @ replica ${x.replica} ${clock(x.at)} (${rel(x.at, f.start)})`)
      .join("; ");
    rows.push([
      String(i + 1),
      f.kind,
      f.target,
      `${clock(f.start)} (${rel(f.start, loadStart)})`,
      `${clock(f.end)} (${((f.end - f.start) / 1000).toFixed(1)}s)`,
      shown || `none: wanted ${e.missing}`,
      e.ok ? "yes" : "NO",
    ]);
  });
  return table(rows);
}

export function processEventLines(events: ProcessEvent[], loadStart: number): string[] {
  return events.map(
    (e) => `- ${clock(e.at)} (${rel(e.at, loadStart)}) replica ${e.replica} ${e.what}: ${e.detail}`,
  );
}

/** Each check: PASS/FAIL, its summary, and its violations. */
export function resultsText(verdict: ChaosVerdict): string {
  const lines: string[] = [];
  for (const c of verdict.checks) {
    lines.push(`${c.ok ? "PASS" : "FAIL"} ${c.name}: ${c.summary}`);
    for (const p of c.problems) lines.push(`    - ${p}`);
    if (c.more > 0) lines.push(`    - … and ${c.more} more`);
  }
  lines.push(verdict.ok ? "CHAOS CHECK PASSED" : "CHAOS CHECK FAILED");
  return lines.join("\n");
}

/** The whole printed report: timeline, unplanned replica exits, results. */
export function reportText(verdict: ChaosVerdict, records: ChaosRecords): string {
  const events = records.processEvents;
  return [
    "Fault timeline",
    "",
    timelineTable(verdict, records.loadStart),
    "",
    ...(events.length > 0
      ? ["Replica processes (not planned):", ...processEventLines(events, records.loadStart), ""]
      : []),
    "Agent deaths",
    "",
    ...deathLines(records),
    "",
    "Results",
    "",
    resultsText(verdict),
  ].join("\n");
}

/**
 * Deaths by cause. A death by disconnect of an agent the run did not SIGKILL is a live agent cut
 * off past the session grace (a paused or killed replica, a slow answer): each attempt it lost ran
 * again elsewhere, a duplicate attempt (never a duplicate completion: the checker says so).
 */
export function deathLines(records: Pick<ChaosRecords, "deaths" | "faults">): string[] {
  const killed = new Set(
    records.faults
      .filter((f) => f.kind === "agent-kill")
      .flatMap((f) => f.target.replace(/^agents /, "").split(", ")),
  );
  const by = (cause: string, wasKilled?: boolean) =>
    records.deaths.filter(
      (d) => d.cause === cause && (wasKilled === undefined || killed.has(d.name) === wasKilled),
    );
  const lost = (ds: ChaosRecords["deaths"]) => ds.reduce((n, d) => n + d.lostAttempts, 0);
  const crashed = by("disconnect", true);
  const cutOff = by("disconnect", false);
  const silent = by("heartbeat");
  const other = by("other");
  return [
    `by disconnect, agents the run SIGKILLed: ${crashed.length} (their ${lost(crashed)} lost attempts ran again)`,
    `by disconnect, live agents cut off past the grace: ${cutOff.length}, duplicate attempts they caused: ${lost(cutOff)}`,
    `by heartbeat deadline: ${silent.length} (${lost(silent)} lost attempts)` +
      (other.length > 0 ? `; other: ${other.length} (${lost(other)} lost attempts)` : ""),
  ];
}
