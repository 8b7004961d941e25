import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelsOf, parseKept, sumIn } from "../../bench/chaos/prom-text.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";

/**
 * Role and task type labels are capped per replica (docs/metrics.md): past the cap, values are
 * exported as `other` and their counts add up there, so no caller can grow the series without
 * bound; the API still reads every name from Postgres.
 */
let d: TestDaemon;

beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_METRICS_MAX_ROLES: "2", OVERSEER_METRICS_MAX_TASK_TYPES: "3" });
});
afterAll(async () => {
  await d?.close();
});

const labelValues = (text: string, metric: string, label: string): Set<string> =>
  new Set(Object.keys(parseKept(text, [metric])).flatMap((key) => labelsOf(key)[label] ?? []));
/** The sum of a metric's series whose labels include every one of `match`. */
const sum = (text: string, metric: string, match: Record<string, string> = {}): number =>
  sumIn(text, metric, match) ?? 0;

describe("metric label caps", () => {
  it("exports at most the capped number of roles and task types, the rest as other, with nothing lost", async () => {
    for (let i = 0; i < 5; i++)
      await d.registerAgent(`cap-agent-${i}`, [], { role: `role-${i}`, silent: true });
    for (let i = 0; i < 6; i++) {
      const r = await d.api("POST", "/api/tasks", { body: { type: `cap.type.${i}`, payload: {} } });
      expect(r.status).toBe(202);
    }
    const text = await (await fetch(`${d.url}/metrics`)).text();

    const roles = labelValues(text, "overseer_agents", "role");
    expect(roles.size).toBeLessThanOrEqual(3);
    expect(roles.has("other")).toBe(true);
    // Five agents, every one counted once, whichever label it got.
    expect(sum(text, "overseer_agents", { state: "active" })).toBe(5);

    const types = labelValues(text, "overseer_tasks_submitted_total", "type");
    expect(types.size).toBeLessThanOrEqual(4);
    expect(types.has("other")).toBe(true);
    expect(sum(text, "overseer_tasks_submitted_total")).toBe(6);
    const queued = labelValues(text, "overseer_queue_depth", "type");
    expect(queued.size).toBeLessThanOrEqual(4);
    expect(sum(text, "overseer_queue_depth", { state: "ready" })).toBe(6);

    // The API is exact: every type is there by name.
    const listed = (await d.api("GET", "/api/tasks?type=cap.type.5")).body;
    expect(JSON.stringify(listed)).toContain("cap.type.5");
  });
});
