import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { EventBus } from "../../daemon/events/event-bus.ts";
import { actAsLeader, currentTerm, FencedError, type LeaderTerm } from "../../daemon/leader/fence-context.ts";
import { LeaderFenceStore } from "../../daemon/store/leader-fence-store.ts";
import { migrate } from "../../daemon/store/migrate.ts";
import { createPool, type Db, withTransaction } from "../../daemon/store/pg-pool.ts";
import { LeaderLease } from "../../daemon/store/redis/leader-lease.ts";
import { redisKeys } from "../../daemon/store/redis/redis-keys.ts";
import { dropNamespace } from "../helpers/namespace-cleanup.ts";
import { DATABASE_URL, freshNamespace, REDIS_URL } from "../helpers/test-env.ts";

// The Postgres fence behind leader-only writes (daemon/leader/fence-context.ts), against the real
// Postgres and Redis: a paused or cut-off old leader's transaction changes nothing once a newer
// leader has installed its epoch, and a new term begins only after the old leader's last commit.

const ns = freshNamespace();
let db: Db;
let redis: Redis;

beforeAll(async () => {
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  await migrate(admin, ns, () => {});
  await admin.end();
  db = createPool(DATABASE_URL, ns, { max: 6 });
  await db.query(
    "CREATE TABLE scratch (who text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())",
  );
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await db?.end();
  redis?.disconnect();
  await dropNamespace(ns);
});

function term(epoch: number, replicaId: string, fenced: FencedError[] = [], acted: Date[] = []): LeaderTerm {
  return {
    epoch,
    replicaId,
    idleTimeoutMs: 10_000,
    onFenced: (e) => fenced.push(e),
    onAction: (at) => acted.push(at),
  };
}

const write = (who: string) =>
  withTransaction(db, (c) => c.query("INSERT INTO scratch (who) VALUES ($1)", [who]));

async function rows(who: string): Promise<number> {
  return Number((await db.query("SELECT count(*) AS n FROM scratch WHERE who = $1", [who])).rows[0].n);
}

it("a leader writes in its term; once a newer epoch is installed, its transactions are refused and change nothing", async () => {
  expect(await new LeaderFenceStore(db).install(1, "replica-a", 2_000)).toBe(true);
  const fenced: FencedError[] = [];
  await actAsLeader(term(1, "replica-a", fenced), () => write("a-before"));
  expect(await rows("a-before")).toBe(1);

  expect(await new LeaderFenceStore(db).install(2, "replica-b", 2_000)).toBe(true);
  await expect(actAsLeader(term(1, "replica-a", fenced), () => write("a-after"))).rejects.toBeInstanceOf(
    FencedError,
  );
  expect(await rows("a-after")).toBe(0);
  expect(fenced.map((e) => e.epoch)).toEqual([1]);

  await actAsLeader(term(2, "replica-b"), () => write("b"));
  expect(await rows("b")).toBe(1);
  // Outside a leader pass nothing is fenced (API requests share the same code).
  await write("api");
  expect(await rows("api")).toBe(1);
  // An older epoch can never be installed again, nor the same epoch by another replica.
  expect(await new LeaderFenceStore(db).install(1, "replica-a", 2_000)).toBe(false);
  expect(await new LeaderFenceStore(db).install(2, "replica-c", 2_000)).toBe(false);
  // Re-installing one's own term is harmless (a leader that stepped down locally and renews).
  expect(await new LeaderFenceStore(db).install(2, "replica-b", 2_000)).toBe(true);
  expect(await new LeaderFenceStore(db).floor()).toBe(2);
});

it("a new term begins only after the old leader's transaction in flight has ended", async () => {
  expect(await new LeaderFenceStore(db).install(3, "replica-a", 2_000)).toBe(true);
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  // The old leader is in the middle of a fenced transaction when the new one installs its epoch.
  const acted: Date[] = [];
  const old = actAsLeader(term(3, "replica-a", [], acted), () =>
    withTransaction(db, async (c) => {
      await c.query("INSERT INTO scratch (who) VALUES ('a-in-flight')");
      await held;
    }),
  );
  await new Promise((r) => setTimeout(r, 100));
  let installed = false;
  const install = new LeaderFenceStore(db).install(4, "replica-b", 5_000).then((ok) => {
    installed = ok;
  });
  await new Promise((r) => setTimeout(r, 300));
  expect(installed).toBe(false);
  release();
  await old;
  await install;
  expect(installed).toBe(true);
  const next = (await db.query<{ acquired_at: Date }>("SELECT acquired_at FROM leader_terms WHERE epoch = 4"))
    .rows[0]!.acquired_at;
  const inFlight = (await db.query("SELECT at FROM scratch WHERE who = 'a-in-flight'")).rows[0].at as Date;
  // The old term's fence check and its write both come before the new term began.
  expect(acted).toHaveLength(1);
  expect(acted[0]!.getTime()).toBeLessThan(next.getTime());
  expect(inFlight.getTime()).toBeLessThan(next.getTime());
  // The term's row counts what the leader reports (the election flushes its counts every renewal).
  await new LeaderFenceStore(db).recordActions({
    epoch: 3,
    replicaId: "replica-a",
    actions: 1,
    firstAt: acted[0]!,
    lastAt: acted[0]!,
  });
  const row = (await db.query("SELECT actions, last_action_at FROM leader_terms WHERE epoch = 3")).rows[0];
  expect(Number(row.actions)).toBe(1);
  expect((row.last_action_at as Date).getTime()).toBe(acted[0]!.getTime());
});

it("an old leader frozen inside a fenced transaction is cut off by Postgres; the new leader installs and the frozen one's writes are lost", async () => {
  expect(await new LeaderFenceStore(db).install(5, "replica-a", 2_000)).toBe(true);
  let resume!: () => void;
  const frozen = new Promise<void>((r) => {
    resume = r;
  });
  const old = actAsLeader({ ...term(5, "replica-a"), idleTimeoutMs: 300 }, () =>
    withTransaction(db, async (c) => {
      await c.query("INSERT INTO scratch (who) VALUES ('a-frozen')");
      await frozen; // like SIGSTOP: the session sits idle in its transaction
      await c.query("INSERT INTO scratch (who) VALUES ('a-frozen-2')");
    }),
  ).then(
    () => "committed",
    (e: Error) => `failed: ${e.message}`,
  );
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  expect(await new LeaderFenceStore(db).install(6, "replica-b", 5_000)).toBe(true);
  const waited = Date.now() - started;
  resume();
  expect(await old).toMatch(/^failed/);
  expect(await rows("a-frozen")).toBe(0);
  expect(await rows("a-frozen-2")).toBe(0);
  // Waited for Postgres to end the idle session (300 ms), not for the lock timeout.
  expect(waited).toBeLessThan(3_000);
});

it("the Redis epoch never falls below the fence's, even after Redis lost its counter", async () => {
  const keys = redisKeys(ns);
  const lease = new LeaderLease(redis, keys.leader, keys.leaderEpoch, "replica-x", 1_000);
  await redis.del(keys.leader, keys.leaderEpoch);
  const first = await lease.tryAcquire(0);
  expect(first.epoch).toBe(1);
  // Renewal keeps the epoch; another replica sees the time left.
  expect((await lease.tryAcquire(0)).epoch).toBe(1);
  const other = new LeaderLease(redis, keys.leader, keys.leaderEpoch, "replica-y", 1_000);
  const answer = await other.tryAcquire(0);
  expect(answer.epoch).toBe(0);
  expect(answer.heldByOtherForMs).toBeGreaterThan(800);
  expect(answer.heldByOtherForMs).toBeLessThanOrEqual(1_000);
  // Redis restarted without its data: the floor read from the fence (6 here) wins.
  await redis.del(keys.leader, keys.leaderEpoch);
  const floor = await new LeaderFenceStore(db).floor();
  expect((await other.tryAcquire(floor)).epoch).toBe(floor + 1);
  await other.release(floor + 1);
  expect(await redis.exists(keys.leader)).toBe(0);
  await redis.del(keys.leaderEpoch);
});

it("a leader pass may open a transaction inside another: the fence's shared lock never makes them wait for each other", async () => {
  const epoch = (await new LeaderFenceStore(db).floor()) + 1;
  expect(await new LeaderFenceStore(db).install(epoch, "replica-n", 2_000)).toBe(true);
  const acted: Date[] = [];
  const done = actAsLeader(term(epoch, "replica-n", [], acted), () =>
    withTransaction(db, async (outer) => {
      await outer.query("INSERT INTO scratch (who) VALUES ('outer')");
      await withTransaction(db, (inner) => inner.query("INSERT INTO scratch (who) VALUES ('inner')"));
    }),
  );
  await expect(
    Promise.race([done.then(() => "done"), new Promise((r) => setTimeout(() => r("stuck"), 3_000))]),
  ).resolves.toBe("done");
  expect(acted).toHaveLength(2);
  expect(await rows("outer")).toBe(1);
  expect(await rows("inner")).toBe(1);
});

it("a plain write through the pool inside a stale leader pass is refused too; reads are not fenced", async () => {
  const stale = await new LeaderFenceStore(db).floor();
  expect(await new LeaderFenceStore(db).install(stale + 1, "replica-p", 2_000)).toBe(true);
  const fenced: FencedError[] = [];
  await expect(
    actAsLeader(term(stale, "replica-n", fenced), () =>
      db.query("INSERT INTO scratch (who) VALUES ('plain-stale')"),
    ),
  ).rejects.toBeInstanceOf(FencedError);
  expect(await rows("plain-stale")).toBe(0);
  expect(fenced).toHaveLength(1);
  const read = await actAsLeader(term(stale, "replica-n"), () => db.query("SELECT count(*) FROM scratch"));
  expect(read.rows).toHaveLength(1);
  await actAsLeader(term(stale + 1, "replica-p"), () =>
    db.query("INSERT INTO scratch (who) VALUES ('plain-ok')"),
  );
  expect(await rows("plain-ok")).toBe(1);
});

it("a named (prepared) write through the pool inside a stale leader pass is refused the same way", async () => {
  const stale = await new LeaderFenceStore(db).floor();
  expect(await new LeaderFenceStore(db).install(stale + 1, "replica-q", 2_000)).toBe(true);
  const insert = (who: string) => ({
    name: "fence-test-insert",
    text: "INSERT INTO scratch (who) VALUES ($1)",
    values: [who],
  });
  await expect(
    actAsLeader(term(stale, "replica-m"), () => db.query(insert("named-stale"))),
  ).rejects.toBeInstanceOf(FencedError);
  expect(await rows("named-stale")).toBe(0);
  await actAsLeader(term(stale + 1, "replica-q"), () => db.query(insert("named-ok")));
  expect(await rows("named-ok")).toBe(1);
});

it("work an event triggers from inside a leader pass runs outside the term", async () => {
  const bus = new EventBus();
  let seen: unknown = "unset";
  bus.subscribe(() => {
    seen = currentTerm();
  });
  await actAsLeader(term(1, "replica-e"), async () => {
    expect(currentTerm()).toBeDefined();
    bus.emit("leader.fenced", { epoch: 1 });
  });
  expect(seen).toBeUndefined();
});
