import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OverseerEvent } from "../../daemon/events/catalogue.ts";
import { HEAL_ACTION_KINDS } from "../../recovery/heal/heal-plan.ts";
import { call } from "../helpers/api-client.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { crashingEntry, managedFile, metricValue } from "./recovery-fixtures.ts";

const WINDOW_MS = 2_000;
const MAX_ACTIONS = 3;
const MAX_RESTARTS = 1;

/** The most rows that fall in any window of `windowMs` (rows sorted by time). */
function maxInAnyWindow(times: number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while ((times[end] as number) - (times[start] as number) >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

describe("automatic healing under an agent crash storm", () => {
  let d: TestDaemon;
  const heal: OverseerEvent[] = [];

  beforeAll(async () => {
    d = await startTestDaemon({
      OVERSEER_AUTO_HEAL: "aggressive",
      OVERSEER_AUTO_HEAL_INTERVAL_MS: "100",
      OVERSEER_HEAL_WINDOW_MS: String(WINDOW_MS),
      OVERSEER_HEAL_MAX_ACTIONS: String(MAX_ACTIONS),
      OVERSEER_HEAL_MAX_AGENT_RESTARTS: String(MAX_RESTARTS),
      OVERSEER_LEADER_LEASE_MS: "300",
      // Four managed processes that crash at once and are given up after one restart.
      OVERSEER_MANAGED_AGENTS_FILE: managedFile([
        crashingEntry("storm-managed", { replicas: 4, intensity: { maxRestarts: 1, periodMs: 60_000 } }),
      ]),
    });
    d.daemon.bus.subscribe((e) => {
      if (e.type === "heal.action") heal.push(e);
    });
  });
  afterAll(async () => {
    await d?.close();
  });

  it("never exceeds its per-kind and per-agent limits in any window", async () => {
    // Six rounds of twelve agents that register, take work, and go silent (stale, then dead): their
    // names die again and again, their leases are lost, and fresh registrations keep appearing.
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 12; i++) {
        const a = await d.registerAgent(`storm-${i}`, ["storm.work"], { silent: true });
        await d.api("POST", "/api/tasks", { body: { type: "storm.work", payload: { round, i } } });
        await d.api("POST", `/api/agents/${a.id}/claim`, { token: a.token, body: { max: 1, waitMs: 0 } });
      }
      await new Promise((r) => setTimeout(r, 1_200));
    }

    const db = await namespaceDb(d.namespace);
    try {
      // Executed and failed actions both count toward the limits (a failed attempt is still an attempt).
      const rows = await db.query<{ action: string; subject: string; ms: number; outcome: string }>(
        `SELECT action, data->>'subject' AS subject, data->>'outcome' AS outcome,
                (extract(epoch FROM at) * 1000)::float8 AS ms
         FROM audit_log WHERE action LIKE 'heal.%' ORDER BY at`,
      );
      const executedRows = rows.rows.filter((r) => r.outcome === "executed").length;
      const byKind = new Map<string, number[]>();
      const bySubject = new Map<string, number[]>();
      for (const r of rows.rows) {
        byKind.set(r.action, [...(byKind.get(r.action) ?? []), r.ms]);
        if (r.action === "heal.drain_restart_agent" || r.action === "heal.restart_managed_agent") {
          bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r.ms]);
        }
      }
      const kindPeaks = Object.fromEntries([...byKind].map(([k, t]) => [k, maxInAnyWindow(t, WINDOW_MS)]));
      const subjectPeak = Math.max(0, ...[...bySubject.values()].map((t) => maxInAnyWindow(t, WINDOW_MS)));
      const skipped = heal.filter((e) => e.type === "heal.action" && e.outcome === "skipped").length;
      const executed = heal.filter((e) => e.type === "heal.action" && e.outcome === "executed").length;
      const metrics = (await call(d.url, "GET", "/metrics")).text;
      const metricExecuted = HEAL_ACTION_KINDS.reduce(
        (sum, action) =>
          sum +
          metricValue(metrics, "overseer_heal_actions_total", {
            strategy: "aggressive",
            action,
            outcome: "executed",
          }),
        0,
      );
      const planned = [
        ...new Set(heal.map((e) => (e.type === "heal.action" ? `${e.action}:${e.outcome}` : ""))),
      ];
      console.log(`recovery-acceptance: crash storm: actions seen=${planned.sort().join(",")}`);
      console.log(
        `recovery-acceptance: crash storm: audited=${rows.rows.length} executed=${executedRows} skipped_by_limits=${skipped} peak_per_kind_per_${WINDOW_MS}ms=${JSON.stringify(kindPeaks)} (limit ${MAX_ACTIONS}) peak_restarts_per_agent=${subjectPeak} (limit ${MAX_RESTARTS}) metric_executed=${metricExecuted}`,
      );
      // The storm gave the loop plenty to do, and its limits held it back.
      expect(rows.rows.length).toBeGreaterThan(0);
      expect(skipped).toBeGreaterThan(0);
      for (const peak of Object.values(kindPeaks)) expect(peak).toBeLessThanOrEqual(MAX_ACTIONS);
      expect(subjectPeak).toBeLessThanOrEqual(MAX_RESTARTS);
      // Every executed action is an event, an audit record and a metric increment.
      expect(executed).toBe(executedRows);
      expect(metricExecuted).toBe(executedRows);
    } finally {
      await db.end();
    }
  });
});
