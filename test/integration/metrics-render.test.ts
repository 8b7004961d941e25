import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";

/** /metrics at the production default: one render a second, shared by every scraper. */
let d: TestDaemon;
beforeAll(async () => {
  d = await startTestDaemon({ OVERSEER_METRICS_MIN_RENDER_INTERVAL_MS: "1s" });
});
afterAll(async () => {
  await d?.close();
});

const scrape = async () => (await fetch(`${d.url}/metrics`)).text();
const submittedOf = (text: string) =>
  Number(/^overseer_tasks_submitted_total\{[^}]*type="render\.t"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);

describe("/metrics renders once for many scrapers", () => {
  it("32 parallel scrapes get one text; a change shows from the next render", async () => {
    const texts = await Promise.all(Array.from({ length: 32 }, scrape));
    expect(new Set(texts).size).toBe(1);
    const before = await scrape();
    const r = await d.api("POST", "/api/tasks", { body: { type: "render.t", payload: {} } });
    expect(r.status).toBe(202);
    await expect.poll(async () => submittedOf(await scrape()), { timeout: 3_000, interval: 100 }).toBe(1);
    expect(submittedOf(before)).toBe(0);
  });
});
