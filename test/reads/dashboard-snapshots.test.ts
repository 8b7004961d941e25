import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * The whole-fleet dashboard reads are read once per OVERSEER_DASHBOARD_SNAPSHOT_MS for each filter
 * and shared meanwhile: a second read within it answers the same snapshot (same generatedAt, same
 * agents), a read with another filter is its own, and after the interval the next read is fresh.
 */
let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_DASHBOARD_SNAPSHOT_MS: "1500ms" });
});
afterAll(async () => {
  await d?.close();
});

const status = (query = "") =>
  d.api("GET", `/api/dashboard/agents/status${query}`, { token: TOKENS.viewer }).then((r) => r.body);

describe("dashboard snapshots", () => {
  it("share one read per interval and filter, and read again after it", async () => {
    await d.registerAgent("snap-a", ["snap.t"], { role: "snapper" });
    const first = await status();
    expect(first.agents.map((a: { name: string }) => a.name)).toEqual(["snap-a"]);

    await d.registerAgent("snap-b", ["snap.t"], { role: "snapper" });
    const [again, concurrent] = await Promise.all([status(), status()]);
    // Within the interval: the same snapshot, generatedAt included.
    expect(again).toEqual(first);
    expect(concurrent).toEqual(first);
    // Another filter is another read, made now: it sees the new agent.
    const byRole = await status("?role=snapper");
    expect(byRole.agents).toHaveLength(2);

    await new Promise((r) => setTimeout(r, 1_600));
    const later = await status();
    expect(later.agents).toHaveLength(2);
    expect(Date.parse(later.generatedAt)).toBeGreaterThan(Date.parse(first.generatedAt));
  });
});
