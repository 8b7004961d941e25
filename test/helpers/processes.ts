import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { call } from "./api-client.ts";
import { TOKENS } from "./test-env.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * How a child starts: by default the TypeScript source through tsx under this test's Node; the
 * compiled-build smoke test (test/ship) gives a compiled entry point and another Node binary.
 */
export interface Launch {
  node: string;
  args: string[];
}

const fromSource = (entry: string): Launch => ({ node: process.execPath, args: ["--import", "tsx", entry] });

function spawnLaunch(launch: Launch, env: Record<string, string>): ChildProcess {
  return spawn(launch.node, launch.args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export interface AgentProcess {
  proc: ChildProcess;
  id: string;
  name: string;
}

/** Starts `sdk/run-agent.ts` and resolves once it has registered. */
export async function spawnAgent(opts: {
  url: string;
  name: string;
  capabilities: string[];
  concurrency?: number;
  workMs?: number;
  failRate?: number;
  reportFile?: string;
  launch?: Launch;
}): Promise<AgentProcess> {
  const proc = spawnLaunch(opts.launch ?? fromSource("sdk/run-agent.ts"), {
    OVERSEER_URL: opts.url,
    OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
    AGENT_NAME: opts.name,
    AGENT_CAPABILITIES: opts.capabilities.join(","),
    AGENT_CONCURRENCY: String(opts.concurrency ?? 1),
    AGENT_WORK_MS: String(opts.workMs ?? 0),
    AGENT_FAIL_RATE: String(opts.failRate ?? 0),
    AGENT_REPORT_FILE: opts.reportFile ?? "",
    LOG_LEVEL: "warn",
  });
  // The tail of stderr goes into the error when the agent dies before registering.
  let stderrTail = "";
  proc.stderr?.on("data", (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-2_000);
  });
  const id = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`agent ${opts.name} did not register within 20 s`));
    }, 20_000);
    lines.on("line", (line) => {
      const m = /^agent \S+ registered (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    proc.once("exit", (code) =>
      reject(new Error(`agent ${opts.name} exited with ${code} before registering: ${stderrTail}`)),
    );
  });
  return { proc, id, name: opts.name };
}

/** Starts the daemon (`app/main.ts`) as a child process and resolves once /readyz says ready. */
export async function spawnDaemon(
  env: Record<string, string>,
  port: number,
  launch: Launch = fromSource("app/main.ts"),
): Promise<ChildProcess> {
  const proc = spawnLaunch(launch, { ...env, PORT: String(port) });
  proc.stdout?.resume();
  proc.stderr?.resume();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  let last = "no answer";
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`daemon exited with ${proc.exitCode}`);
    const ready = await call(url, "GET", "/readyz").then(
      (r) => {
        last = `${r.status} ${r.text}`;
        return r.status === 200;
      },
      () => false,
    );
    if (ready) return proc;
    // The last /readyz answer says which check held it back.
    if (Date.now() > deadline) {
      // Not left running (and holding the port) after the caller gives up on it.
      proc.kill("SIGKILL");
      throw new Error(`daemon not ready within 30 s; /readyz: ${last}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends a signal and waits for the process to exit; resolves with its exit code (null if signalled). */
export function killAndWait(proc: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => {
    proc.once("exit", (code) => resolve(code));
    proc.kill(signal);
  });
}
