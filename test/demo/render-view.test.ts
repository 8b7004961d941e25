import { expect, it } from "vitest";
import { clock, renderView, type ViewState, wrap } from "../../demo/live-view/render-view.ts";

// Local time, so the HH:MM:SS the view prints is the same in every time zone.
const at = (h: number, m: number, s: number) => new Date(2026, 11, 7, h, m, s).getTime();
const VIEWER = "sHjkAws_hLxOex_F4YDjqk8sIz6--vu3";
const OPERATOR = "c292GlO_AMMjiWQIxXWXow7J8hy_y4kl";

function state(over: Partial<ViewState> = {}): ViewState {
  return {
    url: "http://127.0.0.1:8080",
    viewerToken: VIEWER,
    operatorToken: OPERATOR,
    logFile: ".overseer/demo-2026-12-07T12-00-00Z.log",
    startedAt: at(12, 0, 0),
    now: at(12, 0, 35),
    status: "running",
    figures: {
      at: at(12, 0, 34),
      agentsByState: { active: 13, stale: 1 },
      queueTotals: { ready: 3, delayed: 1, active: 6, failed: 2 },
      runsUnfinished: 2,
    },
    figuresError: null,
    tally: {
      windowMs: 10_000,
      completed: 42,
      attemptsFailed: 4,
      events: [
        { at: at(12, 0, 3), text: "14 agents registered: researcher-1, researcher-2, developer-1" },
        { at: at(12, 0, 18), text: "demo: SIGKILL flaky-developer-1's process" },
        {
          at: at(12, 0, 21),
          text: "agent flaky-developer-1 dead (no heartbeat for 3.2 s) · task 1f3ab2c4 moved to developer-1",
        },
      ],
    },
    ...over,
  };
}

it("shows the banner, the fleet's figures and the notable events", () => {
  expect(renderView(state(), 120)).toEqual([
    "Overseer demo at http://127.0.0.1:8080 · up 0:35 · running",
    "  console    http://127.0.0.1:8080/ui/   (sign in with a token below)",
    "  metrics    http://127.0.0.1:8080/metrics",
    "  API docs   http://127.0.0.1:8080/docs",
    `  viewer token    ${VIEWER}`,
    `  operator token  ${OPERATOR}`,
    `  curl -H 'Authorization: Bearer ${VIEWER}' http://127.0.0.1:8080/api/dashboard/agents/status`,
    "    (and /api/dashboard/tasks/queue, /api/workflow/statistics)",
    "  JSON logs  .overseer/demo-2026-12-07T12-00-00Z.log",
    "  Ctrl-C drains and stops.",
    "",
    "Agents by state   active 13 · stale 1 · draining 0",
    "Task queue        ready 3 · delayed 1 · active 6 · failed 2 · dead 0   (tasks unfinished: 10)",
    "Tasks/s           4.2 completed · 0.4 attempts failed   (over the last 10 s)",
    "Runs unfinished   2",
    "  (figures as of 12:00:34, from the daemon's API; tasks/s from its events)",
    "",
    "Notable events",
    "12:00:03 14 agents registered: researcher-1, researcher-2, developer-1",
    "12:00:18 demo: SIGKILL flaky-developer-1's process",
    "12:00:21 agent flaky-developer-1 dead (no heartbeat for 3.2 s) · task 1f3ab2c4 moved to developer-1",
  ]);
});

it("fits a narrow terminal: the banner and the events wrap, whole tokens to the next row", () => {
  const lines = renderView(state(), 60);
  for (const l of lines) expect(l.length).toBeLessThanOrEqual(60);
  expect(lines.some((l) => l.includes(VIEWER))).toBe(true);
  expect(lines.some((l) => l.includes(OPERATOR))).toBe(true);
  expect(lines.slice(-2)).toEqual([
    "12:00:21 agent flaky-developer-1 dead (no heartbeat for 3.2",
    "         s) · task 1f3ab2c4 moved to developer-1",
  ]);
  // The figure lines are cut.
  expect(lines).toContain("Task queue        ready 3 · delayed 1 · active 6 · failed 2…");
});

it("wraps at a space in the second half of the row, else mid-word", () => {
  expect(wrap("aaaa bbbb cccc", 10, "  ")).toEqual(["aaaa bbbb", "  cccc"]);
  expect(wrap("a bcdefghijklmnop", 10, "  ")).toEqual(["a bcdefghi", "  jklmnop"]);
  expect(wrap("short", 10)).toEqual(["short"]);
});

it("keeps the newest events that fit the height", () => {
  const events = Array.from({ length: 30 }, (_, i) => ({ at: at(12, 1, i), text: `event ${i}` }));
  const lines = renderView(state({ tally: { ...state().tally, events } }), 120, 24);
  expect(lines).toHaveLength(24);
  // 18 lines of banner and figures leave 6 for events: the last six, oldest first.
  expect(lines.slice(18)).toEqual(events.slice(24).map((e) => `${clock(e.at)} ${e.text}`));
});

it("says so while the figures are not read yet, when a read fails, while draining and once stopped", () => {
  const before = renderView(state({ figures: null }), 120);
  expect(before).toContain("Agents by state   …");
  expect(before).toContain("  (reading the daemon's API…)");
  expect(renderView(state({ figures: null, figuresError: "fetch failed" }), 120)).toContain(
    "  (API read failed: fetch failed)",
  );
  expect(renderView(state({ figuresError: "GET /api/analytics/kpis: HTTP 503" }), 120)).toContain(
    "  (API read failed: GET /api/analytics/kpis: HTTP 503; figures as of 12:00:34)",
  );
  expect(renderView(state({ status: "draining" }), 120)[0]).toBe(
    "Overseer demo at http://127.0.0.1:8080 · up 0:35 · draining: agents finish or hand back their work",
  );
  expect(renderView(state({ status: "stopped" }), 120)[0]).toBe(
    "Overseer demo at http://127.0.0.1:8080 · up 0:35 · stopped",
  );
  expect(renderView(state({ tally: { ...state().tally, events: [] } }), 120).at(-1)).toBe("(none yet)");
});
