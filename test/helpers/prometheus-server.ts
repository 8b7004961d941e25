import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { getFreePort } from "../../app/embedded/free-port.ts";

/**
 * A real Prometheus (Debian's binary) scraping one target every second, for tests that read what a
 * dashboard or an alert would read. Listens on 127.0.0.1 only; its data lives in a temp folder
 * removed by `stop()`.
 */

const PROMETHEUS = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";

export interface PromResult {
  status: string;
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

export interface PrometheusServer {
  url: string;
  /** What Prometheus wrote to stdout/stderr so far (for failure messages). */
  log(): string;
  query(expr: string): Promise<PromResult>;
  /** Why `expr` shows nothing in a panel (error, no series, only NaN), or null when it has data. */
  problemOf(expr: string): Promise<string | null>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  job: string;
  /** The daemon's base URL; Prometheus scrapes its /metrics. */
  targetUrl: string;
  /** Extra rule file text (`groups: ...`); none by default. */
  rules?: string;
}

export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "overseer-prom-"));
  const target = new URL(opts.targetUrl).host;
  await writeFile(
    join(dataDir, "prometheus.yml"),
    [
      "global: { scrape_interval: 1s, evaluation_interval: 1s }",
      ...(opts.rules ? ["rule_files: [rules.yml]"] : []),
      "scrape_configs:",
      `  - job_name: ${opts.job}`,
      `    static_configs: [{ targets: ["${target}"] }]`,
      "",
    ].join("\n"),
  );
  if (opts.rules) await writeFile(join(dataDir, "rules.yml"), opts.rules);

  let child: ChildProcess | undefined;
  let log = "";
  let url = "";
  const stop = async (): Promise<void> => {
    const c = child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((resolve) => c.once("exit", resolve));
      c.kill("SIGTERM");
      await Promise.race([exited, delay(5_000).then(() => c.kill("SIGKILL"))]);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  const query = async (expr: string): Promise<PromResult> => {
    const r = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    return (await r.json().catch(() => ({ status: "error", error: `HTTP ${r.status}` }))) as PromResult;
  };
  const problemOf = async (expr: string): Promise<string | null> => {
    const r = await query(expr);
    if (r.status !== "success") return `error: ${r.error}`;
    if (r.data?.resultType === "scalar" || r.data?.resultType === "string") return null;
    const result = r.data?.result ?? [];
    if (result.length === 0) return "no data";
    return result.every((s) => s.value[1] === "NaN") ? "no data (only NaN)" : null;
  };

  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await getFreePort();
    url = `http://127.0.0.1:${port}`;
    log = "";
    const c = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dataDir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dataDir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = c;
    c.stdout?.on("data", (b: Buffer) => (log += b.toString()));
    c.stderr?.on("data", (b: Buffer) => (log += b.toString()));
    const deadline = Date.now() + 20_000;
    while (c.exitCode === null && Date.now() < deadline) {
      const ready = await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return { url, log: () => log, query, problemOf, stop };
      await delay(200);
    }
    c.kill("SIGKILL");
  }
  await rm(dataDir, { recursive: true, force: true });
  throw new Error(`prometheus did not start:\n${log.slice(-2000)}`);
}
