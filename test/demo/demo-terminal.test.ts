import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { dropNamespace } from "../helpers/namespace-cleanup.ts";
import { daemonEnv, freshNamespace } from "../helpers/test-env.ts";

/**
 * `npm run demo` as a person and as a pipe see it: on a terminal (a pseudo-terminal from util-linux
 * `script`) the live view with its banner and the JSON logs in the file it names; piped, JSON lines
 * on stdout and no escape sequence. Both drain and exit 0 on Ctrl-C.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const namespaces: string[] = [];
const logFiles: string[] = [];

afterAll(async () => {
  for (const f of logFiles) rmSync(f, { force: true });
  for (const ns of namespaces) await dropNamespace(ns);
});

function demoEnv(): Record<string, string> {
  const ns = freshNamespace();
  namespaces.push(ns);
  // The demo's own grace time, not the tests' 5 s: its stop waits up to 5 s for the flaky agent
  // process to finish its work before the daemon drains, so 5 s in all can overrun (exit 1).
  return {
    ...process.env,
    ...daemonEnv(ns, { LOG_LEVEL: "info", OVERSEER_SHUTDOWN_GRACE_MS: "10000" }),
  } as Record<string, string>;
}

/** Collects a process's stdout; resolves `until` once the text so far passes the check. */
function output(proc: ChildProcess) {
  let text = "";
  const waiters: Array<() => void> = [];
  proc.stdout?.on("data", (c: Buffer) => {
    text += c.toString("utf8");
    for (const w of waiters.splice(0)) w();
  });
  return {
    text: () => text,
    until: (check: (t: string) => boolean, ms: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out; output so far:\n${text.slice(-3_000)}`)),
          ms,
        );
        const test = () => {
          if (check(text)) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(test);
        };
        test();
      }),
  };
}

const exited = (proc: ChildProcess) =>
  new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));

it("on a terminal: the view with the banner, the figures and the events; the JSON logs in the named file", async () => {
  // `script` gives the demo a pseudo-terminal; a ^C written to it reaches the demo as SIGINT.
  // `exec`: dash (Debian's /bin/sh, what `script` runs when SHELL is unset, as in CI) would otherwise
  // stay as the demo's parent in the terminal's process group, die of the SIGINT and make `script`
  // exit 130 while the demo itself drains and exits 0. SHELL is pinned so a run here is a run in CI.
  const proc = spawn("script", ["-qefc", "exec node --import tsx demo/main.ts", "/dev/null"], {
    cwd: ROOT,
    env: { ...demoEnv(), SHELL: "/bin/sh", COLUMNS: "120", LINES: "40" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const out = output(proc);
  const done = exited(proc);
  await out.until((t) => /agents registered/.test(t) && /Agents by state {3}active \d+/.test(t), 60_000);
  const file = /JSON logs {2}(\.overseer\/demo-\S+\.log)/.exec(out.text())?.[1];
  expect(file).toBeDefined();
  const path = join(ROOT, file as string);
  logFiles.push(path);
  const screen = out.text();
  expect(screen).toContain("\x1b[?25l"); // the cursor hidden while the view redraws
  expect(screen).toMatch(/viewer token {4}test-viewer-token-0123456789/);
  expect(screen).toMatch(/Tasks\/s {11}\d+\.\d completed/);
  // No log line on the terminal: they are in the file, every one of them JSON.
  expect(screen).not.toContain('"level":');
  const lines = readFileSync(path, "utf8").trim().split("\n");
  expect(lines.map((l) => JSON.parse(l).msg)).toContain("overseer is running");

  proc.stdin?.write("\x03");
  expect(await done).toBe(0);
  expect(out.text()).toContain("· draining: agents finish or");
  expect(out.text()).toContain(`Overseer demo stopped (exit code 0). Its JSON logs: ${file}`);
  expect(out.text()).toMatch(/· up \d+:\d\d · stopped/); // the last frame, drawn as it exits
  expect(out.text()).toContain("\x1b[?25h"); // the cursor back
  expect(existsSync(path)).toBe(true);
}, 90_000);

it("piped: JSON lines on stdout and the banner, as the daemon writes them", async () => {
  const proc = spawn(process.execPath, ["--import", "tsx", "demo/main.ts"], {
    cwd: ROOT,
    env: demoEnv(),
    stdio: ["ignore", "pipe", "inherit"],
  });
  const out = output(proc);
  const done = exited(proc);
  await out.until((t) => t.includes("Ctrl-C drains and stops."), 60_000);
  proc.kill("SIGINT");
  expect(await done).toBe(0);
  const text = out.text();
  expect(text).not.toContain("\x1b[");
  const lines = text.split("\n").filter((l) => l.startsWith("{"));
  expect(lines.map((l) => JSON.parse(l).msg)).toEqual(
    expect.arrayContaining(["overseer is running", "lifecycle DRAINING", "lifecycle STOPPED"]),
  );
  expect(text).toContain("Overseer demo is running.");
}, 90_000);
