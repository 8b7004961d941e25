import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { parseAgentEnv } from "../../sdk/run-agent.ts";
import { cleanup, deadUrl, startStub } from "./helpers.ts";
import type { StubDaemon } from "./stub-daemon.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const children: ChildProcess[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  await cleanup();
});

interface Spawned {
  child: ChildProcess;
  registered: Promise<string>;
  exited: Promise<number | null>;
  reportFile: string;
}

function spawnAgent(stub: StubDaemon, urls: string, env: Record<string, string>): Spawned {
  const dir = mkdtempSync(join(tmpdir(), "overseer-sdk-"));
  tempDirs.push(dir);
  const reportFile = join(dir, "report.jsonl");
  const child = spawn(process.execPath, ["--import", "tsx", "sdk/run-agent.ts"], {
    cwd: repoRoot,
    env: {
      ...process.env,
      OVERSEER_URL: urls,
      OVERSEER_AGENT_SECRET: stub.agentSecret,
      AGENT_REPORT_FILE: reportFile,
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const registered = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^agent (\S+) registered (\S+)$/m.exec(stdout);
      if (match) resolve(`${match[1]} ${match[2]}`);
    });
    child.on("exit", (code) => reject(new Error(`agent exited (${code}) before registering: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, registered, exited, reportFile };
}

function readReport(file: string): Array<{ event: string; taskId: string; leaseToken: string; at: number }> {
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
}

describe("run-agent CLI", () => {
  it("runs tasks, records them in the report file, and stops cleanly on SIGTERM", async () => {
    const stub = await startStub();
    const agent = spawnAgent(stub, `${await deadUrl()}, ${stub.url}`, {
      AGENT_NAME: "w1",
      AGENT_CAPABILITIES: "echo, sum",
      AGENT_CONCURRENCY: "2",
      AGENT_WORK_MS: "20",
    });
    expect(await agent.registered).toBe("w1 agent-1");
    expect(stub.requestsTo("POST", "/api/agents/register")[0]!.body).toEqual({
      name: "w1",
      role: "worker",
      capabilities: ["echo", "sum", "overseer.canary.worker"],
      concurrency: 2,
    });

    stub.enqueue({ id: "t1", type: "echo" }, { id: "t2", type: "sum" }, { id: "t3", type: "echo" });
    await stub.waitFor(() => stub.requestsTo("POST", /\/complete$/).length === 3, 2_000, "3 completions");
    for (const req of stub.requestsTo("POST", /\/complete$/)) {
      expect(req.body.result).toEqual({ by: "w1", pid: agent.child.pid });
    }

    agent.child.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    expect(stub.requestsTo("DELETE", "/api/agents/agent-1")).toHaveLength(1);
    const report = readReport(agent.reportFile);
    expect(report.map((r) => r.event)).toEqual(["completed", "completed", "completed"]);
    const leaseOf = new Map(
      stub.requestsTo("POST", /\/complete$/).map((r) => [r.path.split("/")[3], r.body.leaseToken]),
    );
    for (const line of report) {
      expect(line.leaseToken).toBe(leaseOf.get(line.taskId));
      expect(typeof line.at).toBe("number");
    }
  });

  it("reports simulated failures and exits 75 after a restart command", async () => {
    const stub = await startStub();
    const agent = spawnAgent(stub, stub.url, {
      AGENT_NAME: "w2",
      AGENT_CAPABILITIES: "echo",
      AGENT_FAIL_RATE: "1",
    });
    await agent.registered;
    stub.enqueue({ id: "t1", type: "echo" });
    await stub.waitFor(() => stub.requestsTo("POST", "/api/tasks/t1/fail")[0], 2_000, "fail");
    expect(stub.requestsTo("POST", "/api/tasks/t1/fail")[0]!.body.error).toEqual({
      message: "simulated failure",
      category: "simulated",
      retryable: true,
    });
    stub.command("agent-1", { type: "restart" });
    expect(await agent.exited).toBe(75);
    expect(readReport(agent.reportFile).map((r) => [r.event, r.taskId])).toEqual([["failed", "t1"]]);
  });

  it("validates its environment", () => {
    expect(() => parseAgentEnv({})).toThrow(/OVERSEER_URL/);
    expect(() => parseAgentEnv({ OVERSEER_URL: "http://x", OVERSEER_AGENT_SECRET: "s" })).toThrow(
      /AGENT_CAPABILITIES/,
    );
    expect(() =>
      parseAgentEnv({
        OVERSEER_URL: "http://x",
        OVERSEER_AGENT_SECRET: "s",
        AGENT_CAPABILITIES: "a",
        AGENT_FAIL_RATE: "2",
      }),
    ).toThrow(/AGENT_FAIL_RATE/);
    expect(
      parseAgentEnv({
        OVERSEER_URL: "http://a, http://b",
        OVERSEER_AGENT_SECRET: "s",
        AGENT_CAPABILITIES: "x,y",
      }),
    ).toMatchObject({
      urls: ["http://a", "http://b"],
      capabilities: ["x", "y"],
      concurrency: 1,
      workMs: 0,
      failRate: 0,
    });
  });
});
