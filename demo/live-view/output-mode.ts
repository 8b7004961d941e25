import { join } from "node:path";

/**
 * How `npm run demo` writes: `view` draws the live terminal view and sends the JSON logs to a file;
 * `json` prints the JSON log lines on stdout, as the daemon does (piped, redirected, or asked for
 * with LOG_FORMAT=json: a log collector or `jq` gets every line).
 */
export type OutputMode = "view" | "json";

export function outputMode(stdoutIsTty: boolean, env: Record<string, string | undefined>): OutputMode {
  return stdoutIsTty && env.LOG_FORMAT !== "json" ? "view" : "json";
}

/** The view's log file: under .overseer/ (git-ignored), one per start, named by its UTC start time. */
export function demoLogFile(cwd: string, startedAt: Date): string {
  const stamp = startedAt
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replaceAll(":", "-");
  return join(cwd, ".overseer", `demo-${stamp}.log`);
}
