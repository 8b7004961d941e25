import { afterAll, beforeAll, expect, it } from "vitest";
import { createLogger } from "../../daemon/telemetry/logger.ts";
import { startDemoAgents } from "../../demo/demo-fleet.ts";
import { startPipelineStream } from "../../demo/pipeline-agents.ts";
import { call } from "../helpers/api-client.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * A short demo run (the demo's own fleet and run stream, offline LLM provider) exports prompt and
 * response pairs: every recorded call carries both, redacted by default (the demo's e-mail address
 * becomes [REDACTED_EMAIL]) and as stored with ?redact=false.
 */
let d: TestDaemon;
let stopAgents: () => Promise<void> = async () => {};
const quiet = { warn() {} };

beforeAll(async () => {
  d = await startTestDaemon();
  stopAgents = await startDemoAgents(d.url, TOKENS.agentSecret, createLogger("silent"));
});
afterAll(async () => {
  await stopAgents();
  await d?.close();
});

type Row = { status: string; role: string; prompt: unknown; response: string | null; runId: string | null };

async function exported(query = ""): Promise<Row[]> {
  const r = await call(d.url, "GET", `/api/llm/export?format=jsonl${query}`, { token: TOKENS.operator });
  expect(r.status, r.text).toBe(200);
  return r.text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);
}

it("a short demo run's export has the prompt and the response of every call, redacted", async () => {
  // Three runs the way the demo starts them: two missions (one asks for the e-mail address) and a story.
  const stop = startPipelineStream(d.url, TOKENS.operator, 200, quiet);
  await eventually(
    async () => ((await d.api("GET", "/api/pipelines/runs?limit=10")).body.total as number) >= 3,
    20_000,
    "three demo runs started",
  );
  stop();
  await eventually(
    async () => {
      const runs = (await d.api("GET", "/api/pipelines/runs?limit=50")).body.runs as Array<{ state: string }>;
      return runs.length >= 3 && runs.every((r) => r.state === "completed");
    },
    90_000,
    "every demo run completed",
  );

  const rows = await exported();
  // A mission asks the model once per step (3), a story six times plus the reviewer's second turn.
  expect(rows.length).toBeGreaterThanOrEqual(3 + 3 + 7);
  const missing = rows.filter((r) => r.prompt === null || (r.status === "ok" && r.response === null));
  expect(missing, JSON.stringify(missing.slice(0, 3))).toEqual([]);
  for (const r of rows) {
    expect(Array.isArray(r.prompt)).toBe(true);
    expect(r.runId).not.toBeNull();
  }
  const text = JSON.stringify(rows.map((r) => [r.prompt, r.response]));
  expect(text).not.toContain("oncall@example.com");
  expect(text).toContain("[REDACTED_EMAIL]");
  // Stored as sent: the export redacts, the record keeps what the agent sent.
  const raw = JSON.stringify((await exported("&redact=false")).map((r) => r.prompt));
  expect(raw).toContain("oncall@example.com");
  const roles = new Set(rows.map((r) => r.role));
  console.log(
    `demo-export: ${rows.length} calls from ${roles.size} roles, ${rows.length - missing.length} with prompt and response; e-mail redacted`,
  );
});
