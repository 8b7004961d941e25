import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../app/embedded/pglite-server.ts";
import { type EmbeddedRedis, startEmbeddedRedis } from "../../app/embedded/redis-server.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";

// The demo's fallback: with no Redis or Postgres around, the daemon runs on an embedded
// redis-server and PGlite. This runs the daemon's real migrations and SQL on them.
const quiet = { info() {}, warn() {} };
let dir: string;
let redis: EmbeddedRedis;
let pg: EmbeddedPostgres;
let d: TestDaemon;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "overseer-embedded-daemon-"));
  [redis, pg] = await Promise.all([
    startEmbeddedRedis({ dataDir: join(dir, "redis"), logger: quiet }),
    startEmbeddedPostgres({ dataDir: join(dir, "pglite"), logger: quiet }),
  ]);
  d = await startTestDaemon({
    REDIS_URL: redis.url,
    DATABASE_URL: pg.url,
    OVERSEER_PG_POOL_SIZE: String(pg.maxConnections),
  });
}, 60_000);
afterAll(async () => {
  await d?.daemon.stop();
  await Promise.allSettled([redis?.stop(), pg?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

it("runs the task protocol, retries and dead-agent reassignment on embedded redis-server + PGlite", async () => {
  const a = await d.registerAgent("emb-a", ["emb.work"]);
  const b = await d.registerAgent("emb-b", ["emb.work"]);
  const first = (
    await d.api("POST", "/api/tasks", { body: { type: "emb.work", payload: { n: 1 }, priority: 5 } })
  ).body.id;
  const t = (await d.api("POST", `/api/agents/${a.id}/claim`, { token: a.token, body: { waitMs: 2_000 } }))
    .body.tasks[0];
  expect(t.id).toBe(first);
  expect(
    (
      await d.api("POST", `/api/tasks/${first}/fail`, {
        token: a.token,
        body: { leaseToken: t.leaseToken, error: { message: "x" } },
      })
    ).status,
  ).toBe(200);
  const again = await eventually(
    async () =>
      (await d.api("POST", `/api/agents/${a.id}/claim`, { token: a.token, body: { waitMs: 500 } })).body
        .tasks[0],
    5_000,
    "the retry",
  );
  expect(again).toMatchObject({ id: first, attempt: 2 });
  a.silence();
  const moved = await eventually(
    async () =>
      (await d.api("POST", `/api/agents/${b.id}/claim`, { token: b.token, body: { waitMs: 500 } })).body
        .tasks[0],
    10_000,
    "reassignment after agent a died",
  );
  expect(moved).toMatchObject({ id: first, attempt: 3 });
  expect(
    (
      await d.api("POST", `/api/tasks/${first}/complete`, {
        token: b.token,
        body: { leaseToken: moved.leaseToken },
      })
    ).status,
  ).toBe(200);
  const view = (await d.api("GET", `/api/tasks/${first}`)).body;
  expect(view.state).toBe("completed");
  expect(view.attempts.map((x: { outcome: string }) => x.outcome)).toEqual(["failed", "lost", "completed"]);
  expect((await d.api("GET", "/metrics", { token: null })).text).toContain(
    'overseer_tasks_completed_total{type="emb.work"} 1',
  );
}, 60_000);
