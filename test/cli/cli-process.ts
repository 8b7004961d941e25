import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs); undefined when it is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read the API's answers field by field.
  json: any;
}

/** Runs the `overseer` CLI from source (sdk/cli/main.ts through tsx) as a child process without a terminal. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", "sdk/cli/main.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, OVERSEER_URL: "", OVERSEER_TOKEN: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    proc.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(
        new Error(`overseer ${args.join(" ")} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`),
      );
    }, timeoutMs);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      let json: CliRun["json"];
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}
