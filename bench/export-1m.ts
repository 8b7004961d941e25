// `npm run bench:export [-- --rows N]`: the training-data export of N recorded LLM calls (default
// 1,000,000) as JSON Lines through the real daemon (a child process), counting lines and bytes on
// the client while sampling the daemon's resident memory from /proc. Baseline in the same run: psql
// copying the same rows as JSON (`row_to_json`, no feedback lookup, no redaction) to /dev/null.
// Creates its own namespace (schema) and drops it at the end.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { availableParallelism } from "node:os";
import { migrate, schemaFor } from "../daemon/store/migrate.ts";
import { createPool } from "../daemon/store/pg-pool.ts";
import { dropNamespace } from "../test/helpers/namespace-cleanup.ts";
import { killAllChildren } from "./support/children.ts";
import { startBenchDaemon } from "./support/daemon.ts";
import { benchNamespace, DATABASE_URL, round, TOKENS } from "./support/services.ts";

const arg = process.argv.indexOf("--rows");
const ROWS = arg > 0 ? Number(process.argv[arg + 1]) : 1_000_000;
if (!Number.isInteger(ROWS) || ROWS < 1) throw new Error("--rows needs a positive integer");

// Prompts of 2 messages (~200–330 bytes) and responses of ~210–570 bytes; every 10th prompt has an
// e-mail address and every 25th response an OpenAI-style key, so redaction has work to do. Calls come
// in runs of 50 with steps of 10; every 50th call failed (no response).
const SEED = `
INSERT INTO llm_calls (id, at, agent_id, role, task_id, run_id, step_id, provider, model, source,
  input_tokens, output_tokens, tokens_counted, cost_usd, priced, latency_ms, ttft_ms, status, error_type,
  prompt, response)
SELECT gen_random_uuid(), timestamptz '2026-01-01T00:00:00Z' + i * interval '1 ms',
  md5('agent' || (i % 16))::uuid, (ARRAY['planner', 'writer', 'reviewer', 'coder'])[1 + i % 4],
  gen_random_uuid(), md5('run' || (i / 50))::uuid, (ARRAY['plan', 'draft', 'review', 'fix'])[1 + (i / 10) % 4],
  'openai', (ARRAY['gpt-a', 'gpt-b', 'llama-3'])[1 + i % 3], 'openai',
  200 + i % 800, 50 + i % 400, i % 7 = 0, ((200 + i % 800) * 2.5 + (50 + i % 400) * 10) / 1e6, true,
  300 + i % 2000, CASE WHEN i % 2 = 0 THEN 80 + i % 300 END,
  CASE WHEN i % 50 = 0 THEN 'error' ELSE 'ok' END, CASE WHEN i % 50 = 0 THEN 'timeout' END,
  jsonb_build_array(
    jsonb_build_object('role', 'system', 'content',
      'You are a careful assistant working on task ' || i || '. Answer briefly and cite your sources.'),
    jsonb_build_object('role', 'user', 'content', repeat(md5(i::text) || ' ', 2 + i % 5)
      || CASE WHEN i % 10 = 0 THEN 'Reply to ops' || i || '@example.com.' ELSE '' END)),
  CASE WHEN i % 50 = 0 THEN NULL ELSE repeat(md5((i + 1)::text) || ' lorem ipsum dolor ', 4 + i % 8)
    || CASE WHEN i % 25 = 0 THEN 'Use key sk-' || md5(i::text) ELSE '' END END
FROM generate_series(1, $1::int) AS i`;
// Ratings: every 20th run, and one call in 800 of its own.
const RUN_FEEDBACK = `INSERT INTO feedback (id, target_kind, run_id, score, author)
  SELECT gen_random_uuid(), 'run', md5('run' || r)::uuid, 1 + r % 5, 'bench'
  FROM generate_series(0, $1::int / 50, 20) AS r`;
const CALL_FEEDBACK = `INSERT INTO feedback (id, target_kind, call_id, score, author)
  SELECT gen_random_uuid(), 'llm_call', id, 1 + output_tokens % 5, 'bench' FROM llm_calls WHERE input_tokens = 201`;

/** VmRSS and VmHWM of a process, MiB. */
function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

/** User + system CPU seconds a process has used (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Streams the export and counts it; nothing is kept. `onLines` sees the running count. */
function exportJsonl(
  url: string,
  onLines: (lines: number) => void,
): Promise<{ lines: number; bytes: number; status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/llm/export?format=jsonl`,
      { headers: { authorization: `Bearer ${TOKENS.operator}` } },
      (res) => {
        let lines = 0;
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
          onLines(lines);
        });
        res.on("end", () => resolve({ lines, bytes, status: res.statusCode ?? 0 }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** psql `\copy` of the same rows as JSON to /dev/null; resolves with the seconds it took. */
function psqlBaseline(namespace: string): Promise<number> {
  const started = performance.now();
  const sql = "\\copy (SELECT row_to_json(c) FROM llm_calls c ORDER BY c.at, c.id) TO '/dev/null'";
  const proc = spawn("psql", [DATABASE_URL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], {
    env: { ...process.env, PGOPTIONS: `-c search_path=${schemaFor(namespace)}` },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return new Promise((resolve, reject) => {
    proc.on("error", reject);
    proc.on("exit", (code) =>
      code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`psql exited ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  const namespace = benchNamespace("export");
  const cleanup = async () => {
    killAllChildren();
    await dropNamespace(namespace).catch(() => {});
  };
  process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)));

  const pool = createPool(DATABASE_URL, namespace, { max: 1 });
  try {
    let t = performance.now();
    await migrate(pool, namespace, () => {});
    await pool.query(SEED, [ROWS]);
    await pool.query(RUN_FEEDBACK, [ROWS]);
    await pool.query(CALL_FEEDBACK);
    await pool.query("ANALYZE llm_calls; ANALYZE feedback");
    const size = await pool.query<{ size: string }>(
      "SELECT pg_size_pretty(pg_total_relation_size('llm_calls')) AS size",
    );
    console.log(
      `seeded ${ROWS.toLocaleString("en")} calls (${size.rows[0]?.size}) in ${round((performance.now() - t) / 1000, 1)} s`,
    );
    await pool.end();

    const daemon = await startBenchDaemon(namespace);
    try {
      const pid = daemon.child.proc.pid as number;
      const baselineS = await psqlBaseline(namespace);
      const before = memory(pid).rss;
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, memory(pid).rss);
      }, 100);
      // RSS when each quarter of the rows has arrived: flat memory means these stay level.
      const quarters: string[] = [];
      const onLines = (lines: number) => {
        if (lines >= ((quarters.length + 1) * ROWS) / 4 && quarters.length < 4) {
          quarters.push(`${round(memory(pid).rss, 1)}`);
        }
      };
      const cpuBefore = cpuSeconds(pid);
      t = performance.now();
      const result = await exportJsonl(daemon.url, onLines);
      const seconds = (performance.now() - t) / 1000;
      clearInterval(sampler);
      const after = memory(pid);
      const cpu = cpuSeconds(pid) - cpuBefore;
      peak = Math.max(peak, after.rss);
      if (result.status !== 200 || result.lines !== ROWS) {
        throw new Error(`export answered ${result.status} with ${result.lines} lines, expected ${ROWS}`);
      }
      const mib = (v: number) => `${round(v, 1)} MiB`;
      console.log(
        [
          `machine: nproc ${availableParallelism()}, Node ${process.version}`,
          `rows: ${result.lines.toLocaleString("en")}`,
          `bytes: ${result.bytes.toLocaleString("en")} (${mib(result.bytes / 1048576)})`,
          `seconds: ${round(seconds, 1)}`,
          `rows/s: ${Math.round(result.lines / seconds).toLocaleString("en")}`,
          `daemon RSS before export: ${mib(before)}`,
          `daemon RSS peak during export (100 ms samples): ${mib(peak)}`,
          `daemon RSS at 25/50/75/100 % of rows: ${quarters.join(" / ")} MiB`,
          `daemon RSS after export: ${mib(after.rss)}`,
          `daemon VmHWM (peak since start): ${mib(after.hwm)}`,
          `daemon CPU during export: ${round(cpu, 1)} s (${Math.round((cpu / seconds) * 100)} % of one core)`,
          `baseline psql \\copy row_to_json to /dev/null: ${round(baselineS, 1)} s`,
          `export time / baseline time: ${round(seconds / baselineS, 2)}x`,
        ].join("\n"),
      );
    } finally {
      await daemon.close();
    }
  } finally {
    await pool.end().catch(() => {});
    await dropNamespace(namespace).catch(() => {});
  }
}

await main();
