import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OverseerDaemon } from "../../app/overseer-daemon.ts";
import { compileConfig } from "../../daemon/config/compile-config.ts";
import type { OverseerEvent } from "../../daemon/events/catalogue.ts";
import { createLogger } from "../../daemon/telemetry/logger.ts";
import { call } from "../helpers/api-client.ts";
import { eventually } from "../helpers/daemon-harness.ts";
import { dropNamespace } from "../helpers/namespace-cleanup.ts";
import { daemonEnv, freshNamespace, TOKENS } from "../helpers/test-env.ts";
import { crashingEntry, managedFile, metricValue } from "./recovery-fixtures.ts";

describe("a managed agent that crashes in a loop", () => {
  const namespace = freshNamespace();
  const events: OverseerEvent[] = [];
  let daemon: OverseerDaemon;
  let url: string;
  // Its own daemon (not the harness) so the events are recorded from before the first start.
  const d = {
    api: (method: string, path: string, opts: { token?: string; body?: unknown } = {}) =>
      call(url, method, path, { token: opts.token ?? TOKENS.operator, body: opts.body }),
  };

  beforeAll(async () => {
    const config = compileConfig(
      daemonEnv(namespace, { OVERSEER_MANAGED_AGENTS_FILE: managedFile([crashingEntry("crashy")]) }),
    );
    daemon = new OverseerDaemon({ config, logger: createLogger(config.logLevel) });
    daemon.bus.subscribe((e) => {
      if (e.type.startsWith("managed.")) events.push(e);
    });
    url = await daemon.start();
  });
  afterAll(async () => {
    await daemon?.stop();
    await dropNamespace(namespace);
  });

  it("is restarted with growing backoff, then given up at the intensity limit, and the metrics show it", async () => {
    await eventually(
      async () => {
        const r = await d.api("GET", "/api/dashboard/recovery/managed-agents");
        return r.body.managed?.[0]?.state === "failed";
      },
      20_000,
      "crashy given up",
    );
    const exits = events.filter((e) => e.type === "managed.exited");
    const decisions = exits.map((e) => (e.type === "managed.exited" ? [e.decision, e.delayMs] : []));
    // Three restarts (50, 100, 200 ms: doubling from 50), then the fourth crash exceeds 3 in 60 s.
    expect(decisions).toEqual([
      ["restart", 50],
      ["restart", 100],
      ["restart", 200],
      ["give_up", 0],
    ]);
    expect(events.filter((e) => e.type === "managed.started")).toHaveLength(4);
    expect(events.filter((e) => e.type === "managed.gave_up")).toHaveLength(1);

    const metrics = (await call(url, "GET", "/metrics")).text;
    const restarts = metricValue(metrics, "overseer_managed_agent_restarts_total", {
      name: "crashy",
      reason: "crashed",
    });
    const gaveUp = metricValue(metrics, "overseer_managed_agent_gave_up_total", { name: "crashy" });
    const failed = metricValue(metrics, "overseer_managed_agents", { name: "crashy", state: "failed" });
    expect([restarts, gaveUp, failed]).toEqual([3, 1, 1]);
    console.log(
      `recovery-acceptance: managed crash loop: restarts=${restarts} delaysMs=${decisions
        .slice(0, 3)
        .map((x) => x[1])
        .join(",")} gave_up=${gaveUp} state_failed=${failed}`,
    );
  });

  it("auto-heal (smart) plans its restart in a dry run, and restarts it when executed", async () => {
    const dry = await d.api("POST", "/api/dashboard/recovery/auto-heal", { body: { strategy: "smart" } });
    expect(dry.status).toBe(200);
    expect(dry.body.dryRun).toBe(true);
    expect(dry.body.plan).toContainEqual(
      expect.objectContaining({ action: "restart_managed_agent", target: "crashy/0" }),
    );
    expect(dry.body.executed).toEqual([]);
    const conservative = await d.api("POST", "/api/dashboard/recovery/auto-heal", {
      body: { strategy: "conservative" },
    });
    expect(conservative.body.plan.map((a: { action: string }) => a.action)).not.toContain(
      "restart_managed_agent",
    );

    const startsBefore = events.filter((e) => e.type === "managed.started").length;
    const run = await d.api("POST", "/api/dashboard/recovery/auto-heal", {
      body: { strategy: "smart", dryRun: false },
    });
    expect(run.status).toBe(200);
    expect(run.body.executed).toContainEqual({
      action: "restart_managed_agent",
      target: "crashy/0",
      outcome: "executed",
    });
    expect(events.filter((e) => e.type === "managed.started").length).toBeGreaterThan(startsBefore);
    const metrics = (await call(url, "GET", "/metrics")).text;
    expect(
      metricValue(metrics, "overseer_heal_actions_total", {
        strategy: "smart",
        action: "restart_managed_agent",
        outcome: "executed",
      }),
    ).toBe(1);
  });

  it("rejects a bad strategy with a 400 and a viewer with a 403", async () => {
    const bad = await d.api("POST", "/api/dashboard/recovery/auto-heal", { body: { strategy: "reckless" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("OVS_ERR_VALIDATION");
    const viewer = await d.api("POST", "/api/dashboard/recovery/auto-heal", {
      token: "test-viewer-token-0123456789",
      body: { strategy: "smart" },
    });
    expect(viewer.status).toBe(403);
  });
});
