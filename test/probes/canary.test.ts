import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../sdk/agent.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";

/** The value of one sample of /metrics, or undefined when the series is absent. */
async function sample(
  d: TestDaemon,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const text = (await d.api("GET", "/metrics", { token: null })).text;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.lastIndexOf("}"));
    if (Object.entries(labels).every(([k, v]) => inside.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return undefined;
}

const ROLE = "scout";
const canary = { probe: "canary", role: ROLE };

describe("canary probe", () => {
  let d: TestDaemon;
  const agents: Agent[] = [];

  beforeAll(async () => {
    d = await startTestDaemon({
      OVERSEER_CANARY_ENABLED: "true",
      OVERSEER_CANARY_INTERVAL_MS: "200",
      OVERSEER_CANARY_TIMEOUT_MS: "1500",
    });
  });
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop({ graceMs: 0 })));
    await d?.close();
  });

  it("succeeds through live agents of a role, and fails (metric 0) once every agent of it is gone", async () => {
    for (const name of ["scout-1", "scout-2"]) {
      const agent = new Agent({
        url: d.url,
        agentSecret: TOKENS.agentSecret,
        name,
        role: ROLE,
        handlers: { "scout.work": () => ({ ok: true }) },
        claimWaitMs: 200,
      });
      await agent.start();
      agents.push(agent);
    }

    // Success: the metric is 1 and successful runs are counted with their duration.
    await eventually(
      async () => (await sample(d, "overseer_probe_success", canary)) === 1,
      20_000,
      "canary success",
    );
    const successes = await eventually(
      async () => sample(d, "overseer_probe_runs_total", { ...canary, outcome: "success" }),
      5_000,
      "success counted",
    );
    expect(await sample(d, "overseer_probe_duration_seconds_count", canary)).toBeGreaterThanOrEqual(1);
    const healthy = (await d.api("GET", "/api/dashboard/system/health", { token: TOKENS.viewer })).body;
    expect(healthy.components.canary.status).toBe("ok");
    expect(healthy.components.canary.detail.roles.map((r: { role: string }) => r.role)).toEqual([ROLE]);

    // Every agent of the role gone: the next canary is never claimed, times out and is cancelled.
    await Promise.all(agents.map((a) => a.stop({ graceMs: 0 })));
    await eventually(
      async () => (await sample(d, "overseer_probe_success", canary)) === 0,
      20_000,
      "canary failure",
    );
    const timeouts = await eventually(
      async () => sample(d, "overseer_probe_runs_total", { ...canary, outcome: "timeout" }),
      5_000,
      "timeout counted",
    );
    const down = (await d.api("GET", "/api/dashboard/system/health", { token: TOKENS.viewer })).body;
    expect(down.components.canary.status).toBe("down");
    expect(down.components.canary.detail.roles[0]).toMatchObject({ role: ROLE, outcome: "timeout" });

    // Canaries never pile up: at most one open per role, the timed-out ones cancelled.
    const db = await namespaceDb(d.namespace);
    try {
      const { rows } = await db.query(
        "SELECT state, count(*)::int AS n FROM tasks WHERE type = $1 GROUP BY state ORDER BY state",
        [`overseer.canary.${ROLE}`],
      );
      const by = Object.fromEntries(rows.map((r) => [r.state, r.n]));
      expect((by.queued ?? 0) + (by.active ?? 0)).toBeLessThanOrEqual(1);
      expect(by.cancelled ?? 0).toBeGreaterThanOrEqual(1);
      console.log(
        `probes-acceptance: canary role=${ROLE}: with 2 live agents success runs=${successes}, ` +
          `probe_success=1; after every agent of the role stopped: timeout runs=${timeouts}, probe_success=0, ` +
          `health canary=${down.components.canary.status}; canary tasks by state ${JSON.stringify(by)}`,
      );
    } finally {
      await db.end();
    }
  });
});
