// The bare Postgres SKIP LOCKED queue's worker (child process, IPC), drain mode of bull-worker.ts:
// a no-op handler on SKL_SLOTS slots, started on {type:"start"} (answers {type:"started"}); on
// {type:"notify", total} answers {type:"reached", total, at, completed} once that many jobs are
// deleted. It answers {type:"loaded"} once its connections are open.
//
// One fetch loop takes up to the free slots in one statement; each job runs, then is deleted with a
// statement of its own (a plain queue's completion). A fetch that finds nothing waits for the insert
// trigger's NOTIFY, or 100 ms at most (a notification lost between fetch and wait costs no more).
import pg from "pg";
import { channel, DELETE_JOB, FETCH_JOBS, searchPath } from "../scenarios/skiplocked-sql.ts";
import { completionTargets } from "./completion-targets.ts";

const env = process.env;
const schema = env["SKL_SCHEMA"] ?? "";
const queue = env["SKL_QUEUE"] ?? "";
const slots = Number(env["SKL_SLOTS"] ?? 1);
const send = (m: Record<string, unknown>) => process.send?.(m);
const targets = completionTargets(send);

// Eight connections in all, a small worker's pool: one LISTENs, one fetches (there is one fetch loop,
// and a dedicated connection keeps its fetch from queueing behind deletes), six delete.
const connection = { connectionString: env["DATABASE_URL"], options: searchPath(schema) };
const listener = new pg.Client(connection);
const fetcher = new pg.Client(connection);
const completers = new pg.Pool({ ...connection, max: 6 });

/** A wake-up a loop can wait for, with an upper bound. */
function signal() {
  let wake: (() => void) | null = null;
  return {
    fire: () => wake?.(),
    wait: (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
        wake = done;
      }),
  };
}

const newJobs = signal();
const slotFreed = signal();
/** Set by every notification, cleared before each fetch: one that came during a fetch is not waited out. */
let notified = false;
let busy = 0;

const handler = async (_payload: unknown) => {};

function fail(error: Error): void {
  send({ type: "error", message: error.message });
  process.exit(1);
}

async function run(job: { id: string; payload: unknown }): Promise<void> {
  await handler(job.payload);
  await completers.query({ name: "skl-delete", text: DELETE_JOB, values: [job.id] });
  busy--;
  targets.complete();
  slotFreed.fire();
}

async function fetchLoop(): Promise<never> {
  for (;;) {
    const free = slots - busy;
    if (free === 0) {
      await slotFreed.wait(100);
      continue;
    }
    notified = false;
    const { rows } = await fetcher.query<{ id: string; payload: unknown }>({
      name: "skl-fetch",
      text: FETCH_JOBS,
      values: [queue, free],
    });
    busy += rows.length;
    for (const job of rows) run(job).catch(fail);
    if (rows.length === 0 && !notified) await newJobs.wait(100);
  }
}

async function start(): Promise<void> {
  listener.on("notification", () => {
    notified = true;
    newJobs.fire();
  });
  await listener.query(`LISTEN ${pg.escapeIdentifier(channel(schema))}`);
  fetchLoop().catch(fail);
}

process.on("message", (m: { type?: string; total?: number }) => {
  if (m?.type === "start") start().then(() => send({ type: "started" }), fail);
  if (m?.type === "notify" && typeof m.total === "number") targets.expect(m.total);
});
process.on("disconnect", () => process.exit(1));
Promise.all([listener.connect(), fetcher.connect(), completers.query("SELECT 1")]).then(
  () => send({ type: "loaded" }),
  fail,
);
