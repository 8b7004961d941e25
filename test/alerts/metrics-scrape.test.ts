import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPERATOR_ACTIONS } from "../../daemon/events/catalogue.ts";
import { KNOWN_LABEL_VALUES } from "../../daemon/telemetry/known-label-values.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";

/**
 * What Prometheus reads from a daemon: a full /metrics scrape passes `promtool check metrics` (the
 * naming conventions: `_total` only on counters, base units), and the series whose labels are known
 * exist from the first scrape at 0 (docs/metrics.md, "Series that exist from the start").
 */

let d: TestDaemon;
const scrape = async (): Promise<string> => (await d.api("GET", "/metrics", { token: null })).text;
const value = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => {
  await d?.close();
});

describe("the /metrics scrape", () => {
  it("has the known series at 0 before anything happened", async () => {
    const first = await scrape();
    for (const operation of KNOWN_LABEL_VALUES.leaseOperations) {
      expect(value(first, `overseer_lease_conflicts_total{operation="${operation}"}`)).toBe(0);
    }
    for (const loop of ["liveness", "reconcile", "pipelines", "schedules", "retention"]) {
      expect(value(first, `overseer_loop_errors_total{loop="${loop}"}`), loop).toBe(0);
    }
    for (const action of OPERATOR_ACTIONS) {
      expect(value(first, `overseer_operator_actions_total{action="${action}"}`), action).toBe(0);
    }
    expect(value(first, 'overseer_reconcile_repairs_total{kind="missing_dispatch"}')).toBe(0);
    expect(value(first, 'overseer_leader_changes_total{change="lost",reason="fenced"}')).toBe(0);
    expect(value(first, 'overseer_agent_transitions_total{from="stale",to="dead"}')).toBe(0);
    // The built-in templates are stored at start: their run counters and the runs gauge read 0.
    expect(value(first, 'overseer_pipeline_runs{template="mission",state="running"}')).toBe(0);
    expect(value(first, 'overseer_pipeline_runs_finished_total{template="mission",state="failed"}')).toBe(0);
    // No agent has ever registered: no role is known, so no agent series is invented.
    expect(first).not.toMatch(/^overseer_agents\{/m);
  });

  it("keeps a role's states at 0 after its agent leaves, and learns its task types", async () => {
    const agent = await d.registerAgent("scrape-1", ["scrape.work"], { role: "scraper" });
    await eventually(
      async () => value(await scrape(), 'overseer_agents{state="active",role="scraper"}') === 1,
      10_000,
      "the active agent in the gauge",
    );
    const text = await scrape();
    expect(value(text, 'overseer_tasks_dead_lettered_total{type="scrape.work"}')).toBe(0);
    expect(value(text, 'overseer_tasks_failed_total{type="scrape.work",category="timeout"}')).toBe(0);
    expect(value(text, 'overseer_queue_depth{type="scrape.work",state="ready"}')).toBe(0);
    expect(value(text, 'overseer_agents_lost{role="scraper"}')).toBe(0);
    const r = await d.api("DELETE", `/api/agents/${agent.id}`);
    expect(r.status).toBe(204);
    agent.silence();
    await eventually(
      async () => value(await scrape(), 'overseer_agents{state="left",role="scraper"}') === 1,
      10_000,
      "the agent left",
    );
    const after = await scrape();
    expect(value(after, 'overseer_agents{state="active",role="scraper"}')).toBe(0);
    // Left cleanly: not lost.
    expect(value(after, 'overseer_agents_lost{role="scraper"}')).toBe(0);
  });

  it("counts a role whose last agent died as lost until an agent of it registers again", async () => {
    const agent = await d.registerAgent("crash-1", ["crash.work"], { role: "crasher" });
    agent.silence();
    await eventually(
      async () => value(await scrape(), 'overseer_agents_lost{role="crasher"}') === 1,
      20_000,
      "the dead agent counted as lost",
    );
    expect(value(await scrape(), 'overseer_agents{state="active",role="crasher"}')).toBe(0);
    const back = await d.registerAgent("crash-2", ["crash.work"], { role: "crasher" });
    await eventually(
      async () => value(await scrape(), 'overseer_agents_lost{role="crasher"}') === 0,
      10_000,
      "a new agent of the role clears it",
    );
    back.silence();
  });

  it("passes promtool check metrics after some activity", async () => {
    const agent = await d.registerAgent("lint-1", ["lint.work"], { role: "linter" });
    for (const outcome of ["complete", "fail"] as const) {
      const s = await d.api("POST", "/api/tasks", {
        body: { type: "lint.work", payload: {}, maxAttempts: 1 },
      });
      expect(s.status).toBe(202);
      const c = await d.api("POST", `/api/agents/${agent.id}/claim`, {
        token: agent.token,
        body: { max: 1, waitMs: 2_000 },
      });
      const task = c.body.tasks[0];
      const body =
        outcome === "complete"
          ? { leaseToken: task.leaseToken }
          : { leaseToken: task.leaseToken, error: { message: "no", category: "tool_error" } };
      expect(
        (await d.api("POST", `/api/tasks/${task.id}/${outcome}`, { token: agent.token, body })).status,
      ).toBe(200);
    }
    agent.silence();
    const text = await scrape();
    expect(text).toMatch(/^overseer_task_duration_seconds_bucket\{/m);
    const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", timeout: 30_000 });
    if (r.error) throw new Error(`promtool could not run (${r.error.message}); .ci/run installs it`);
    expect(`${r.stdout}${r.stderr}`, "promtool check metrics").toBe("");
    expect(r.status).toBe(0);
  });
});
