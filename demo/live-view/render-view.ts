import { FIGURES } from "../../contract/figures.ts";
import { QUEUE_STATES } from "../../contract/schemas/dashboard.ts";
import type { ApiFigures } from "./api-figures.ts";
import type { TallySnapshot } from "./fleet-tally.ts";

/** Everything one frame of the demo's terminal view shows. */
export interface ViewState {
  url: string;
  viewerToken: string;
  operatorToken: string;
  /** Where the JSON logs go, as the user should read it (relative to the checkout). */
  logFile: string;
  startedAt: number;
  now: number;
  /** `draining` from Ctrl-C (or SIGTERM) until the process exits; `stopped` in the last frame. */
  status: "running" | "draining" | "stopped";
  /** The last API read; null before the first one answered. */
  figures: ApiFigures | null;
  /** Why the last API read failed, if it did (the figures shown are then older). */
  figuresError: string | null;
  tally: TallySnapshot;
}

const LIVE_AGENT_STATES = ["active", "stale", "draining"];
const LABEL = 17;

/**
 * One frame: the banner (where the metrics, the docs and the tokens are), the fleet's figures and
 * the latest notable events, as lines no wider than `width`, at most `height` of them. The banner
 * and the events wrap rather than lose a token or where a task went; the figure lines are cut with
 * "…"; the newest events that fit fill what is left, oldest first.
 */
export function renderView(state: ViewState, width: number, height = Number.POSITIVE_INFINITY): string[] {
  const w = Math.max(20, width);
  const banner = bannerLines(state).flatMap((l) => wrap(l, w));
  const body = [...figureLines(state), "", "Notable events"].map((l) => cut(l, w));
  const room = Math.max(1, height - banner.length - body.length);
  const shown: string[] = [];
  for (const e of [...state.tally.events].reverse()) {
    const lines = wrap(`${clock(e.at)} ${e.text}`, w, " ".repeat(9));
    if (shown.length + lines.length > room) break;
    shown.unshift(...lines);
  }
  if (state.tally.events.length === 0) shown.push("(none yet)");
  return [...banner, ...body, ...shown].slice(0, height);
}

function bannerLines(s: ViewState): string[] {
  const up = uptime(s.now - s.startedAt);
  const status = {
    running: "running",
    draining: "draining: agents finish or hand back their work",
    stopped: "stopped",
  }[s.status];
  return [
    `Overseer demo at ${s.url} · up ${up} · ${status}`,
    `  console    ${s.url}/ui/   (sign in with a token below)`,
    `  metrics    ${s.url}/metrics`,
    `  API docs   ${s.url}/docs`,
    `  viewer token    ${s.viewerToken}`,
    `  operator token  ${s.operatorToken}`,
    `  curl -H 'Authorization: Bearer ${s.viewerToken}' ${s.url}/api/dashboard/agents/status`,
    "    (and /api/dashboard/tasks/queue, /api/workflow/statistics)",
    `  JSON logs  ${s.logFile}`,
    "  Ctrl-C drains and stops.",
    "",
  ];
}

function figureLines(s: ViewState): string[] {
  const f = s.figures;
  const t = s.tally;
  const windowS = t.windowMs / 1_000;
  const rate = (n: number) => (n / windowS).toFixed(1);
  const throughput = `${rate(t.completed)} completed · ${rate(t.attemptsFailed)} attempts failed   (over the last ${Math.round(windowS)} s)`;
  if (!f) {
    return [
      row(FIGURES.agents_by_state.name, "…"),
      row("Task queue", "…"),
      row("Tasks/s", throughput),
      row(FIGURES.runs_active.name, "…"),
      s.figuresError ? `  (API read failed: ${s.figuresError})` : "  (reading the daemon's API…)",
    ];
  }
  const agents = orderedCounts(f.agentsByState, LIVE_AGENT_STATES);
  const queue = orderedCounts(f.queueTotals, QUEUE_STATES);
  const unfinished = ["ready", "delayed", "active"].reduce((n, k) => n + (f.queueTotals[k] ?? 0), 0);
  const asOf = s.figuresError
    ? `  (API read failed: ${s.figuresError}; figures as of ${clock(f.at)})`
    : `  (figures as of ${clock(f.at)}, from the daemon's API; tasks/s from its events)`;
  return [
    row(FIGURES.agents_by_state.name, agents),
    row("Task queue", `${queue}   (${FIGURES.tasks_active.name.toLowerCase()}: ${unfinished})`),
    row("Tasks/s", throughput),
    row(FIGURES.runs_active.name, f.runsUnfinished === null ? "n/a" : String(f.runsUnfinished)),
    asOf,
  ];
}

const row = (label: string, value: string) => `${label.padEnd(LABEL)} ${value}`;

/** `a 1 · b 0 · …` in the given order (absent: 0), then any other key the API answered. */
function orderedCounts(counts: Record<string, number>, order: readonly string[]): string {
  const keys = [...order, ...Object.keys(counts).filter((k) => !order.includes(k))];
  return keys.map((k) => `${k} ${counts[k] ?? 0}`).join(" · ");
}

/** Local wall-clock time, HH:MM:SS. */
export function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

function uptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1_000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function cut(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

/**
 * Wraps a line to `width`, at a space when one is in the second half of the row (a token or a URL
 * then moves whole to the next row), else mid-word; continuations start with `indent`.
 */
export function wrap(line: string, width: number, indent = "    "): string[] {
  const out: string[] = [];
  let rest = line;
  let room = width;
  while (rest.length > room) {
    const space = rest.lastIndexOf(" ", room);
    const at = space > room / 2 ? space : room;
    out.push(out.length === 0 ? rest.slice(0, at) : indent + rest.slice(0, at));
    rest = rest.slice(at).trimStart();
    room = width - indent.length;
  }
  out.push(out.length === 0 ? rest : indent + rest);
  return out;
}
