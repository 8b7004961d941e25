import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { Agent } from "../../sdk/agent.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { killAndWait } from "../helpers/processes.ts";
import { TOKENS } from "../helpers/test-env.ts";
import { alertRules, PROMETHEUS_DIR, RUNBOOK_BASE } from "./rule-files.ts";

/**
 * The alerting loop end to end with the real Debian Prometheus and Alertmanager: a daemon, a role's
 * SDK agents, Prometheus scraping the daemon every second and evaluating the SHIPPED rule files
 * (prometheus/alerts/*.yml, loaded unchanged by absolute path), Alertmanager routing with the
 * shipped alertmanager.yml, and a webhook receiver standing in for the pager.
 *
 * Only deployment details are rewritten in the temporary copies of the configs: scrape and
 * evaluation every 1 s, the targets (daemon, Alertmanager, receiver on 127.0.0.1 free ports) and
 * Alertmanager's group_wait/group_interval of 1 s. No `for:` is changed: OverseerNoHealthyAgents
 * has `for: 1m`, so the page comes about a minute after the fault.
 *
 * Every agent of the role crashing (silent, never deregistering) must page (critical → the pager
 * receiver, with its runbook_url); starting agents of it again must send the resolved notification.
 * Meanwhile the agents of another role stop cleanly (deregister): that role must not page.
 */
const ROLE = "e2e-pager";
const CLEAN_ROLE = "e2e-clean";
const ALERT = "OverseerNoHealthyAgents";
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

interface Notification {
  path: string;
  at: number;
  body: {
    receiver: string;
    status: string;
    alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }>;
  };
}

let d: TestDaemon;
let work: string;
let receiver: Server;
let prometheus: ChildProcess | undefined;
let alertmanager: ChildProcess | undefined;
let promUrl: string;
const notifications: Notification[] = [];
const logs: Record<string, string[]> = { prometheus: [], alertmanager: [] };
let agents: Agent[] = [];

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createNetServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** Spawns a Go binary, keeping its last log lines for failure messages. */
function start(name: "prometheus" | "alertmanager", bin: string, args: string[]): ChildProcess {
  const proc = spawn(bin, args, { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
  const keep = (chunk: Buffer) => {
    const lines = logs[name] as string[];
    lines.push(...chunk.toString().split("\n").filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - 40));
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  return proc;
}

async function ready(name: string, url: string, proc: ChildProcess): Promise<void> {
  await eventually(
    async () => {
      if (proc.exitCode !== null)
        throw new Error(`${name} exited ${proc.exitCode}:\n${logs[name]?.join("\n")}`);
      return fetch(url).then(
        (r) => r.ok,
        () => false,
      );
    },
    30_000,
    `${name} ready at ${url}`,
  );
}

async function startAgents(n: number, role = ROLE): Promise<Agent[]> {
  const started: Agent[] = [];
  for (let i = 0; i < n; i++) {
    const agent = new Agent({
      url: d.url,
      agentSecret: TOKENS.agentSecret,
      name: `${role}-${i}`,
      role,
      handlers: { "e2e.work": async () => ({ ok: true }) },
      claimWaitMs: 500,
      logger: quiet,
    });
    await agent.start();
    started.push(agent);
  }
  return started;
}

async function stopAgents(list: Agent[]): Promise<void> {
  await Promise.all(list.map((a) => a.stop({ graceMs: 500 }).catch(() => {})));
}

async function promQuery(
  expr: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await r.json()) as { data?: { result?: [] } };
  return body.data?.result ?? [];
}

function notificationFor(status: "firing" | "resolved", role = ROLE): Notification | undefined {
  return notifications.find((n) =>
    n.body.alerts.some((a) => a.labels.alertname === ALERT && a.labels.role === role && a.status === status),
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "overseer-alerts-e2e-"));
  d = await startTestDaemon();

  receiver = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => {
      raw += c;
    });
    req.on("end", () => {
      try {
        notifications.push({ path: req.url ?? "", at: Date.now(), body: JSON.parse(raw) });
      } catch {
        // Not a notification; ignore.
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, "127.0.0.1", ok));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

  // Alertmanager: the shipped routes, receivers and inhibitions; only URLs and timings rewritten.
  const amPort = await freePort();
  const am = parse(readFileSync(join(PROMETHEUS_DIR, "alertmanager.yml"), "utf8"));
  Object.assign(am.route, { group_wait: "1s", group_interval: "1s", repeat_interval: "1h" });
  for (const r of am.receivers) {
    for (const w of r.webhook_configs ?? []) w.url = `${receiverUrl}${new URL(w.url).pathname}`;
  }
  writeFileSync(join(work, "alertmanager.yml"), stringify(am));
  alertmanager = start("alertmanager", "prometheus-alertmanager", [
    `--config.file=${join(work, "alertmanager.yml")}`,
    `--storage.path=${join(work, "am-data")}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    "--cluster.listen-address=",
  ]);

  // Prometheus: the shipped scrape job and rule files; 1 s scrapes and evaluations.
  const promPort = await freePort();
  promUrl = `http://127.0.0.1:${promPort}`;
  const prom = parse(readFileSync(join(PROMETHEUS_DIR, "prometheus.yml"), "utf8"));
  Object.assign(prom.global, { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" });
  prom.rule_files = prom.rule_files.map((f: string) => resolve(PROMETHEUS_DIR, f));
  prom.alerting.alertmanagers = [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }];
  const job = prom.scrape_configs.find((j: { job_name: string }) => j.job_name === "overseer");
  job.static_configs = [{ targets: [new URL(d.url).host] }];
  writeFileSync(join(work, "prometheus.yml"), stringify(prom));
  prometheus = start("prometheus", "prometheus", [
    `--config.file=${join(work, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(work, "prom-data")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ]);

  await ready("alertmanager", `http://127.0.0.1:${amPort}/-/ready`, alertmanager);
  await ready("prometheus", `${promUrl}/-/ready`, prometheus);
}, 60_000);

afterAll(async () => {
  await stopAgents(agents);
  for (const proc of [prometheus, alertmanager]) if (proc) await killAndWait(proc, "SIGTERM");
  await new Promise<void>((ok) => (receiver ? receiver.close(() => ok()) : ok()));
  await d?.close();
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

it("a role whose agents all crash pages with the runbook, one whose agents leave does not, and agents coming back resolve it", async () => {
  const rule = alertRules().find((r) => r.alert === ALERT);
  expect(rule?.labels?.severity).toBe("critical");

  // The crashing role's agents heartbeat until silenced; they never deregister.
  const crashing = [
    await d.registerAgent(`${ROLE}-0`, ["e2e.work"], { role: ROLE }),
    await d.registerAgent(`${ROLE}-1`, ["e2e.work"], { role: ROLE }),
  ];
  const leaving = await startAgents(2, CLEAN_ROLE);
  agents = leaving;
  await eventually(
    async () =>
      (await promQuery(`overseer_agents{state="active",role=~"${ROLE}|${CLEAN_ROLE}"}`)).filter(
        (s) => s.value[1] === "2",
      ).length === 2,
    20_000,
    "Prometheus to scrape two active agents of each role",
  );

  for (const a of crashing) a.silence();
  await stopAgents(leaving);
  agents = [];
  const fault = Date.now();

  const page = await eventually(
    async () => notificationFor("firing"),
    120_000,
    `${ALERT} at the pager`,
  ).catch((e) => {
    throw new Error(
      `${e.message}\nprometheus:\n${logs.prometheus?.join("\n")}\nalertmanager:\n${logs.alertmanager?.join("\n")}`,
    );
  });
  const seconds = (page.at - fault) / 1000;
  console.log(`alerts-e2e: fault → page in ${seconds.toFixed(1)} s (for: ${rule?.for}, scrape 1s)`);

  expect(page.path).toBe("/pager");
  expect(page.body.receiver).toBe("overseer-pager");
  const alert = page.body.alerts.find((a) => a.labels.alertname === ALERT && a.labels.role === ROLE);
  expect(alert?.labels.severity).toBe("critical");
  expect(alert?.annotations.runbook_url).toBe(`${RUNBOOK_BASE}no-healthy-agents`);
  expect(alert?.annotations.dashboard_url).toBe("http://localhost:3000/d/overseer-agents");
  expect(alert?.annotations.summary).toContain(ROLE);
  // Not before the rule's `for` (1m) has passed since the first evaluation that saw no agent.
  expect(seconds).toBeGreaterThanOrEqual(58);
  // The role whose agents deregistered at the same moment was evaluated just as long: no page.
  expect(notificationFor("firing", CLEAN_ROLE)).toBeUndefined();
  const cleanAlerts = await promQuery(`ALERTS{alertname="${ALERT}",role="${CLEAN_ROLE}"}`);
  expect(cleanAlerts, "no pending or firing alert for the role that left cleanly").toEqual([]);

  agents = await startAgents(2);
  const back = Date.now();
  const resolved = await eventually(async () => notificationFor("resolved"), 30_000, `${ALERT} resolved`);
  expect(resolved.path).toBe("/pager");
  console.log(`alerts-e2e: agents back → resolved in ${((resolved.at - back) / 1000).toFixed(1)} s`);
  // Warnings never went to the pager.
  for (const n of notifications.filter((x) => x.path === "/pager")) {
    for (const a of n.body.alerts) expect(a.labels.severity).toBe("critical");
  }
}, 150_000);
