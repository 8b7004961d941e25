// The chaos run's agent fleet: worker agents (sdk/run-agent.ts) for plain tasks and one agent per
// `mission` step role (pipeline-agent.ts), each its own process with every replica URL (the SDK
// fails over) and a report file of the outcomes the daemon acknowledged.
import { join } from "node:path";
import { type Child, exited, spawnTs, stopChild } from "../support/children.ts";

/** Task type of the plain tasks the submitter sends. */
export const TASK_TYPE = "chaos.work";

/** The mission template's agent steps, by role (demo/pipeline-agents.ts PIPELINE_ROLES). */
export const MISSION_ROLES = [
  { role: "classifier", capabilities: ["mission.classify"] },
  { role: "tool-runner", capabilities: ["mission.select-tool", "mission.run-tool"] },
];

export interface FleetAgent {
  name: string;
  kind: "worker" | "pipeline";
  child: Child;
  reportFile: string;
}

interface Spec {
  kind: "worker" | "pipeline";
  role: string;
  capabilities: string[];
}

export class AgentFleet {
  readonly agents: FleetAgent[] = [];
  /** Every report file written (also those of killed agents). */
  readonly reportFiles: string[] = [];
  private seq = 0;

  constructor(
    private readonly opts: {
      urls: string[];
      agentSecret: string;
      dir: string;
      workers: number;
      workerConcurrency: number;
      workerWorkMs: number;
    },
  ) {}

  async start(): Promise<void> {
    const specs: Spec[] = [];
    for (let i = 0; i < this.opts.workers; i++)
      specs.push({ kind: "worker", role: "worker", capabilities: [TASK_TYPE] });
    for (const r of MISSION_ROLES) specs.push({ kind: "pipeline", ...r });
    // One at a time: a tsx start is CPU-heavy and the machine has 2 cores.
    for (const spec of specs) await this.spawn(spec);
  }

  private spec(a: FleetAgent): Spec {
    if (a.kind === "worker") return { kind: "worker", role: "worker", capabilities: [TASK_TYPE] };
    const role = MISSION_ROLES.find((r) => a.name.includes(`-${r.role}-`)) ?? MISSION_ROLES[0]!;
    return { kind: "pipeline", ...role };
  }

  /** Starts one agent process; resolves once it printed its registration line (bounded). */
  private async spawn(spec: Spec): Promise<FleetAgent> {
    const n = ++this.seq;
    const name = `chaos-${spec.kind === "worker" ? "worker" : spec.role}-${n}`;
    const reportFile = join(this.opts.dir, `agent-${name}.jsonl`);
    let registered: (() => void) | undefined;
    const ready = new Promise<void>((resolve) => {
      registered = resolve;
    });
    const common = {
      OVERSEER_URL: this.opts.urls.join(","),
      OVERSEER_AGENT_SECRET: this.opts.agentSecret,
      AGENT_NAME: name,
      AGENT_ROLE: spec.role,
      AGENT_CAPABILITIES: spec.capabilities.join(","),
      AGENT_REPORT_FILE: reportFile,
      LOG_LEVEL: "warn",
    };
    const child =
      spec.kind === "worker"
        ? spawnTs(
            name,
            "sdk/run-agent.ts",
            {
              ...common,
              AGENT_CONCURRENCY: String(this.opts.workerConcurrency),
              AGENT_WORK_MS: String(this.opts.workerWorkMs),
              AGENT_FAIL_RATE: "0",
            },
            { onLine: (line) => line.startsWith(`agent ${name} registered`) && registered?.() },
          )
        : spawnTs(
            name,
            "bench/chaos/pipeline-agent.ts",
            { ...common, AGENT_CONCURRENCY: "4", CHAOS_STEP_MS: "50,150" },
            { onLine: (line) => line.startsWith(`agent ${name} registered`) && registered?.() },
          );
    const agent: FleetAgent = { name, kind: spec.kind, child, reportFile };
    this.agents.push(agent);
    this.reportFiles.push(reportFile);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ready,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${name} did not register within 60 s\n${child.tail()}`)),
            60_000,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return agent;
  }

  /** SIGKILLs the oldest live agent of `kind` and starts a replacement; returns both names. */
  async killOne(kind: "worker" | "pipeline"): Promise<{ killed: string; replacement: string }> {
    const victim = this.agents.find((a) => a.kind === kind && !exited(a.child.proc));
    if (!victim) throw new Error(`no live ${kind} agent to kill`);
    await stopChild(victim.child.proc, "SIGKILL");
    this.agents.splice(this.agents.indexOf(victim), 1);
    const replacement = await this.spawn(this.spec(victim));
    return { killed: victim.name, replacement: replacement.name };
  }

  /** Agents that exited by themselves (not killed by the run). */
  deadOnTheirOwn(): string[] {
    return this.agents.filter((a) => exited(a.child.proc)).map((a) => `${a.name} (${a.child.proc.exitCode})`);
  }

  /** SIGTERM (the SDK drains), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    await Promise.all(this.agents.map((a) => stopChild(a.child.proc, "SIGTERM", 10_000)));
  }
}
