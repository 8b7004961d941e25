import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Every child this process started and has not yet seen exit: killed by pid on an emergency stop. */
const live = new Set<ChildProcess>();

export interface Child {
  proc: ChildProcess;
  name: string;
  /** The last lines the child wrote on stdout and stderr (for error messages). */
  tail(): string;
}

/**
 * Starts an entry point: TypeScript with `node --import tsx`, like the test helpers do, or a compiled
 * `.js` (npm run build's output) under plain node; optionally with an IPC channel. Output is kept as
 * a short tail, never accumulated.
 */
export function spawnTs(
  name: string,
  entry: string,
  env: Record<string, string>,
  opts: { ipc?: boolean; onLine?: (line: string, stream: "stdout" | "stderr") => void } = {},
): Child {
  // Diagnostics: e.g. BENCH_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles every child.
  const extra = (process.env["BENCH_CHILD_NODE_ARGS"] ?? "").split(" ").filter(Boolean);
  const loader = entry.endsWith(".js") ? ["--enable-source-maps"] : ["--import", "tsx"];
  const proc = spawn(process.execPath, [...extra, ...loader, entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: opts.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  const lines: string[] = [];
  const take = (stream: "stdout" | "stderr") => {
    let partial = "";
    proc[stream]?.on("data", (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        opts.onLine?.(line, stream);
        lines.push(`${stream}: ${line}`);
        if (lines.length > 30) lines.shift();
      }
    });
  };
  take("stdout");
  take("stderr");
  return { proc, name, tail: () => lines.join("\n") };
}

/** True once the process has exited (by code or signal). */
export function exited(proc: ChildProcess): boolean {
  return proc.exitCode !== null || proc.signalCode !== null;
}

/** Sends a signal and waits for the exit; SIGKILLs after `graceMs` if a softer signal is ignored. */
export function stopChild(
  proc: ChildProcess,
  signal: NodeJS.Signals = "SIGKILL",
  graceMs = 10_000,
): Promise<void> {
  if (exited(proc)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    proc.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill(signal);
  });
}

/** SIGKILLs every child still running (emergency stop: Ctrl-C, a crash). Each by its own pid. */
export function killAllChildren(): void {
  for (const proc of live) if (!exited(proc)) proc.kill("SIGKILL");
}

export interface Message {
  type: string;
  [key: string]: unknown;
}

/**
 * Resolves with the next IPC message from `child` that satisfies `match`; rejects when the child
 * exits first or after `timeoutMs`.
 */
export function nextMessage<T extends Message = Message>(
  child: Child,
  match: (m: Message) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const { proc } = child;
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      proc.off("message", onMessage);
      proc.off("exit", onExit);
    };
    const onMessage = (m: unknown) => {
      if (m && typeof m === "object" && match(m as Message)) {
        done();
        resolve(m as T);
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      done();
      reject(
        new Error(`${child.name} exited (${code ?? signal}) while waiting for ${what}\n${child.tail()}`),
      );
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${child.name}: no ${what} within ${timeoutMs} ms\n${child.tail()}`));
    }, timeoutMs);
    proc.on("message", onMessage);
    proc.once("exit", onExit);
    if (exited(proc)) onExit(proc.exitCode, proc.signalCode);
  });
}

/** Sends an IPC message to a child. */
export function send(child: Child, message: Message): void {
  if (!child.proc.connected) throw new Error(`${child.name} has no IPC channel (exited?)\n${child.tail()}`);
  child.proc.send(message);
}

/** Asks an agent fleet child to stop and waits for its final `stopped` report (stats and errors). */
export function stopFleet<S>(
  fleet: Child,
  what: string,
): Promise<{ stats: S; errors: Record<string, number> }> {
  send(fleet, { type: "stop" });
  return nextMessage<{ type: string; stats: S; errors: Record<string, number> }>(
    fleet,
    (m) => m.type === "stopped",
    20_000,
    `${what} stopped`,
  );
}

/** Records every IPC message of `type` from `child` by `key` (e.g. picks by task id), as they come. */
export function collect<T extends Message>(child: Child, type: string, key: string): Map<string, T> {
  const seen = new Map<string, T>();
  child.proc.on("message", (m: unknown) => {
    const msg = m as T;
    if (msg && typeof msg === "object" && msg.type === type) seen.set(String(msg[key]), msg);
  });
  return seen;
}
