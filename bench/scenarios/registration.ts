import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { markdownTable } from "../markdown-table.ts";
import { perSecond } from "../stats.ts";
import { startBenchDaemon } from "../support/daemon.ts";
import { benchNamespace, DATABASE_URL, dropSchema, round, TOKENS } from "../support/services.ts";
import { boundedRun } from "../support/timing.ts";

export interface RegistrationParams {
  /** Agents registered per side. */
  agents: number;
  /** Registrations in flight at once (HTTP requests; raw INSERTs). */
  concurrency: number;
}

export interface RegistrationResult {
  params: RegistrationParams;
  /** POST /api/agents/register, the daemon as a child process. */
  overseer: { ms: number; perSec: number };
  /**
   * The same rows written by hand: the agent row and its first transition in one transaction per
   * agent, from a pool of `concurrency` connections, into a schema of its own.
   */
  rawInsert: { ms: number; perSec: number };
  ratio: number | null;
}

/**
 * Registering a fleet: `agents` registrations over HTTP with `concurrency` in flight, beside a bare
 * Postgres registry writing the same two rows per agent at the same concurrency.
 */
export async function registration(p: RegistrationParams): Promise<RegistrationResult> {
  const daemon = await startBenchDaemon(benchNamespace("reg"));
  let overseer: { ms: number; perSec: number };
  try {
    const t0 = performance.now();
    await boundedRun(p.agents, p.concurrency, async (i) => {
      const r = await daemon.api(
        "POST",
        "/api/agents/register",
        { name: `reg-${i}`, role: "bench", capabilities: ["bench.fleet"], concurrency: 1 },
        TOKENS.agentSecret,
      );
      if (r.status !== 201) throw new Error(`register: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    });
    const ms = performance.now() - t0;
    overseer = { ms: round(ms), perSec: perSecond(p.agents, ms) };
  } finally {
    await daemon.close();
  }
  const rawInsert = await rawRegistry(p);
  return {
    params: p,
    overseer,
    rawInsert,
    ratio: rawInsert.perSec > 0 ? Math.round((overseer.perSec / rawInsert.perSec) * 100) / 100 : null,
  };
}

async function rawRegistry(p: RegistrationParams): Promise<{ ms: number; perSec: number }> {
  const schema = `bench_regraw_${randomBytes(4).toString("hex")}`;
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: p.concurrency });
  try {
    await pool.query(`CREATE SCHEMA ${schema};
      CREATE TABLE ${schema}.agents (id uuid PRIMARY KEY, name text NOT NULL, role text NOT NULL,
        capabilities text[] NOT NULL, concurrency integer NOT NULL, state text NOT NULL,
        registered_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE ${schema}.agent_transitions (id bigserial PRIMARY KEY,
        agent_id uuid NOT NULL REFERENCES ${schema}.agents (id), at timestamptz NOT NULL DEFAULT now(),
        to_state text NOT NULL, reason text)`);
    const t0 = performance.now();
    await boundedRun(p.agents, p.concurrency, async (i) => {
      const id = randomUUID();
      await pool.query({
        name: "raw-register",
        text: `WITH a AS (INSERT INTO ${schema}.agents (id, name, role, capabilities, concurrency, state)
                 VALUES ($1, $2, 'bench', ARRAY['bench.fleet'], 1, 'active') RETURNING id)
               INSERT INTO ${schema}.agent_transitions (agent_id, to_state, reason)
               SELECT id, 'active', 'registered' FROM a`,
        values: [id, `raw-${i}`],
      });
    });
    const ms = performance.now() - t0;
    return { ms: round(ms), perSec: perSecond(p.agents, ms) };
  } finally {
    await pool.end();
    await dropSchema(schema);
  }
}

export function registrationMarkdown(r: RegistrationResult): string {
  const int = (n: number) => Math.round(n).toLocaleString("en-US");
  return `${markdownTable(
    [
      ["Registration", "agents/s", "time (ms)", "Overseer / raw"],
      ["**Overseer**, `POST /api/agents/register`", `**${int(r.overseer.perSec)}**`, int(r.overseer.ms), ""],
      [
        "Raw Postgres: agent row + transition, one statement each",
        int(r.rawInsert.perSec),
        int(r.rawInsert.ms),
        "",
      ],
      ["Ratio", "", "", r.ratio === null ? "–" : `${r.ratio.toFixed(2)}×`],
    ],
    ["l", "r", "r", "r"],
  )}\n\n${int(r.params.agents)} agents per side, ${r.params.concurrency} in flight.`;
}
