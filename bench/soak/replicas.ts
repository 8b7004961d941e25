import { call } from "../../test/helpers/api-client.ts";
import { type Child, exited, spawnTs, stopChild } from "../support/children.ts";
import { freePort } from "../support/daemon.ts";
import { DATABASE_URL, REDIS_URL, TOKENS } from "../support/services.ts";
import { sleep } from "../support/timing.ts";

export interface Replica {
  index: number;
  child: Child;
  url: string;
  /** warn/error lines logged so far, counted by message. */
  problems: Record<string, number>;
}

/**
 * Starts one `app/main.ts` replica of `namespace` (a child process, LOG_LEVEL=warn, 127.0.0.1)
 * and waits for /readyz. Unlike bench/support/daemon.ts it does not own the namespace: two replicas
 * share it, and the soak drops it once both are stopped.
 */
export async function startReplica(
  index: number,
  namespace: string,
  overrides: Record<string, string>,
): Promise<Replica> {
  const port = await freePort();
  const env: Record<string, string> = {
    OVERSEER_NAMESPACE: namespace,
    HOST: "127.0.0.1",
    PORT: String(port),
    REDIS_URL,
    DATABASE_URL,
    OVERSEER_EMBEDDED: "false",
    LOG_LEVEL: "warn",
    OVERSEER_ADMIN_TOKEN: TOKENS.admin,
    OVERSEER_OPERATOR_TOKEN: TOKENS.operator,
    OVERSEER_VIEWER_TOKEN: TOKENS.viewer,
    OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
    OVERSEER_SHUTDOWN_GRACE_MS: "5s",
    ...overrides,
  };
  const problems: Record<string, number> = {};
  const child = spawnTs(`replica ${index}`, "app/main.ts", env, {
    onLine: (line) => {
      let key = line.slice(0, 120);
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; context?: string; loop?: string };
        if ((entry.level ?? 0) < 40) return;
        key = `${entry.level === 40 ? "warn" : "error"}: ${entry.msg ?? ""}${entry.loop ? ` (${entry.loop})` : ""}${entry.context ? ` (${entry.context})` : ""}`;
      } catch {
        if (line.trim() === "") return;
      }
      problems[key] = (problems[key] ?? 0) + 1;
    },
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited(child.proc))
      throw new Error(`replica ${index} exited with ${child.proc.exitCode}\n${child.tail()}`);
    const ready = await call(url, "GET", "/readyz").then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stopChild(child.proc);
      throw new Error(`replica ${index} not ready within 60 s\n${child.tail()}`);
    }
    await sleep(100);
  }
  return { index, child, url, problems };
}

export function stopReplica(r: Replica): Promise<void> {
  return stopChild(r.child.proc, "SIGTERM", 15_000);
}
