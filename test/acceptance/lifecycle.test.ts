import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { getFreePort } from "../../app/embedded/free-port.ts";
import { call } from "../helpers/api-client.ts";
import { dropNamespace } from "../helpers/namespace-cleanup.ts";
import { daemonEnv, freshNamespace, TOKENS } from "../helpers/test-env.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const namespace = freshNamespace();
afterAll(async () => {
  await dropNamespace(namespace);
});

function startDaemon(env: Record<string, string>) {
  const proc = spawn(process.execPath, ["--import", "tsx", "app/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  createInterface({ input: proc.stdout! }).on("line", (l) => lines.push(l));
  let stderr = "";
  proc.stderr!.on("data", (c) => {
    stderr += c;
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return { proc, lines, exited, stderr: () => stderr };
}

it("SIGTERM drains: open long-polls return, lifecycle runs INITIALIZED→STARTING→RUNNING→DRAINING→STOPPED, exit 0 within the grace time", async () => {
  const port = await getFreePort();
  const d = startDaemon({
    ...daemonEnv(namespace, { LOG_LEVEL: "info", OVERSEER_SHUTDOWN_GRACE_MS: "5000" }),
    PORT: String(port),
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while ((await call(url, "GET", "/readyz").catch(() => ({ status: 0 }))).status !== 200) {
    if (Date.now() > deadline) throw new Error(`daemon not ready: ${d.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const reg = await call(url, "POST", "/api/agents/register", {
    token: TOKENS.agentSecret,
    body: { name: "drain", role: "worker", capabilities: ["life.x"] },
  });
  // A long-poll that would wait 25 s: draining must answer it at once (empty), not make SIGTERM wait.
  const poll = call(url, "POST", `/api/agents/${reg.body.id}/claim`, {
    token: reg.body.token,
    body: { waitMs: 25_000 },
  });
  await new Promise((r) => setTimeout(r, 300));
  const signalledAt = Date.now();
  d.proc.kill("SIGTERM");
  const answer = await poll.catch(() => null);
  const code = await d.exited;
  const tookMs = Date.now() - signalledAt;
  expect(code).toBe(0);
  expect(tookMs).toBeLessThan(5_000);
  if (answer) expect([200, 503]).toContain(answer.status);
  const states = d.lines.filter((l) => l.includes('"msg":"lifecycle')).map((l) => JSON.parse(l).to);
  expect(states).toEqual(["STARTING", "RUNNING", "DRAINING", "STOPPED"]);
  console.log(
    `lifecycle: SIGTERM to exit 0 in ${tookMs} ms; states ${["INITIALIZED", ...states].join(" → ")}`,
  );
}, 60_000);

it("a bad configuration stops start-up with a clear message and exit code 78", async () => {
  const d = startDaemon({
    ...daemonEnv(freshNamespace()),
    OVERSEER_HEARTBEAT_INTERVAL_MS: "soon",
    OVERSEER_AGENT_DEAD_AFTER_MS: "100",
    PORT: "99999",
  });
  expect(await d.exited).toBe(78);
  expect(d.stderr()).toContain("invalid configuration");
  expect(d.stderr()).toContain("OVERSEER_HEARTBEAT_INTERVAL_MS");
  expect(d.stderr()).toContain("PORT");
}, 30_000);
