import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { runCli } from "./cli-process.ts";

describe("overseer CLI: reads, usage and exit codes", () => {
  let d: TestDaemon;
  let env: Record<string, string>;
  let taskId: string;

  beforeAll(async () => {
    d = await startTestDaemon();
    env = { OVERSEER_URL: d.url, OVERSEER_TOKEN: TOKENS.viewer };
    await d.registerAgent("cli-w1", ["cli.work"], { role: "cli-worker" });
    const t = await d.api("POST", "/api/tasks", { body: { type: "cli.work", payload: { n: 1 } } });
    taskId = t.body.id;
  });
  afterAll(async () => {
    await d?.close();
  });

  it("--help exits 0; an unknown command or option is a usage error (2)", async () => {
    const help = await runCli(["--help"], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("exit codes");
    expect((await runCli(["frobnicate"], env)).code).toBe(2);
    const typo = await runCli(["agents", "--rol", "x", "--json"], env);
    expect(typo.code).toBe(2);
    expect(JSON.parse(typo.stderr).error.message).toContain("--rol");
  });

  it("status --json answers the system health; no token is 5, no daemon is 4", async () => {
    const r = await runCli(["status", "--json"], env);
    expect(r.code).toBe(0);
    expect(["ok", "degraded", "down"]).toContain(r.json.status);
    expect(r.json.components.postgres.status).toBe("ok");
    const text = await runCli(["status"], env);
    expect(text.stdout).toMatch(/score \d+\/100/);

    const noToken = await runCli(["status", "--json"], { OVERSEER_URL: d.url });
    expect(noToken.code).toBe(5);
    expect(JSON.parse(noToken.stderr).error.code).toBe("OVS_ERR_UNAUTHENTICATED");
    const down = await runCli(["status", "--json", "--url", "http://127.0.0.1:9"], env);
    expect(down.code).toBe(4);
    // Not fetch's "bad port": what happened and what to check.
    const refused = await runCli(["status", "--url", "http://127.0.0.1:1"], env);
    expect(refused.code).toBe(4);
    expect(refused.stderr.trim()).toBe(
      "overseer: cannot connect to http://127.0.0.1:1 (connection refused): is the daemon running, and is --url (or OVERSEER_URL) right?",
    );
    // A status other than ok names the components behind it.
    // (Judged on the text's own status: health may change between two calls on a loaded machine.)
    const shown = /^status (\w+)/.exec(text.stdout)?.[1];
    if (shown !== "ok") expect(text.stdout).toContain(`${shown} because of: `);
    else expect(text.stdout).not.toContain("because of");
  });

  it("agents, tasks and runs --json answer what the daemon holds", async () => {
    const agents = await runCli(["agents", "--json", "--role", "cli-worker"], env);
    expect(agents.code).toBe(0);
    expect(agents.json.agents.map((a: { name: string }) => a.name)).toEqual(["cli-w1"]);

    const tasks = await runCli(["tasks", "--json"], env);
    expect(tasks.code).toBe(0);
    expect(tasks.json.totals.ready).toBe(1);
    const one = await runCli(["tasks", taskId, "--json"], env);
    expect(one.json.id).toBe(taskId);
    // Text mode is for people: labelled lines, no JSON document.
    const queuesText = await runCli(["tasks"], env);
    expect(queuesText.stdout).toMatch(/^totals: .*ready 1/m);
    expect(queuesText.stdout).not.toContain("{");
    const oneText = await runCli(["tasks", taskId], env);
    expect(oneText.code).toBe(0);
    expect(oneText.stdout).toMatch(new RegExp(`^task\\s+${taskId}$`, "m"));
    expect(oneText.stdout).toMatch(/^type\s+cli\.work$/m);
    expect(oneText.stdout).toMatch(/^state\s+queued$/m);
    expect(oneText.stdout).toMatch(/^payload\s+\{"n":1\}$/m);
    const missing = await runCli(["tasks", "00000000-0000-4000-8000-000000000000", "--json"], env);
    expect(missing.code).toBe(6);

    const runs = await runCli(["runs", "--json", "--limit", "5"], env);
    expect(runs.code).toBe(0);
    expect(runs.json.runs).toEqual([]);
    expect(runs.json.total).toBe(0);
  });

  it("audit --json lists entries (operator token); a bad --since is a usage error", async () => {
    const r = await runCli(["audit", "--json", "--since", "1h", "--token", TOKENS.operator], env);
    expect(r.code).toBe(0);
    expect(Array.isArray(r.json.entries)).toBe(true);
    expect((await runCli(["audit", "--since", "yesterday-ish"], env)).code).toBe(2);
  });

  it("tail --json streams the snapshot and live events, bounded by --count", async () => {
    const tail = runCli(["tail", "--json", "--feed", "tasks", "--count", "1", "--for", "20s"], env);
    // Events only flow once the feed is open; keep submitting until the tail has seen one.
    let done = false;
    void tail.then(() => {
      done = true;
    });
    for (let i = 0; i < 200 && !done; i++) {
      await d.api("POST", "/api/tasks", { body: { type: "cli.work", payload: { i } } });
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await tail;
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[0].type).toBe("snapshot");
    expect(lines.at(-1)).toMatchObject({
      type: "event",
      event: { type: "task.submitted", taskType: "cli.work" },
    });

    // Text mode, without a terminal: one line per event, after the connection line.
    const text = runCli(["tail", "--feed", "tasks", "--count", "1", "--for", "20s"], env);
    let textDone = false;
    void text.then(() => {
      textDone = true;
    });
    for (let i = 0; i < 200 && !textDone; i++) {
      await d.api("POST", "/api/tasks", { body: { type: "cli.work", payload: { i } } });
      await new Promise((r) => setTimeout(r, 100));
    }
    const t = await text;
    expect(t.code).toBe(0);
    expect(t.stdout).toContain("connected to tasks");
    expect(t.stdout).toMatch(/task\.submitted\s+taskId=\S+ taskType=cli\.work/);
    console.log(
      `cli-acceptance: reads: status/agents/tasks/runs/audit --json exit 0; tail --json got ${lines.length} messages (snapshot then ${lines.at(-1).event.type})`,
    );
  });
});
