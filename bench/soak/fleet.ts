import { type Child, exited, spawnTs, stopChild } from "../support/children.ts";
import { TOKENS } from "../support/services.ts";
import { sleep } from "../support/timing.ts";

/**
 * The churning agent fleet: `size` agent processes (bench/soak/agent-child.ts). Every `churnMs` the
 * oldest is replaced: alternately stopped with SIGTERM (its agents drain and leave) and SIGKILL
 * (its agents go silent and the leader declares them dead, requeueing their leases). The new
 * process registers new agents, so the agents table sees a steady stream of ended agents.
 */
export class ChurningFleet {
  private children: Child[] = [];
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();
  replaced = 0;
  killed = 0;
  failures = 0;
  lastError = "";

  constructor(
    private readonly urls: string[],
    private readonly size: number,
    private readonly churnMs: number,
    private readonly env: Record<string, string>,
  ) {}

  async start(): Promise<void> {
    for (let i = 0; i < this.size; i++) this.children.push(await this.spawn());
    this.timer = setInterval(() => {
      this.busy = this.busy.then(() => this.replaceOldest()).catch((e) => this.note(e));
    }, this.churnMs);
    this.timer.unref();
  }

  private note(error: unknown): void {
    this.failures++;
    this.lastError = (error as Error)?.message?.slice(0, 300) ?? String(error);
  }

  private async spawn(): Promise<Child> {
    const generation = ++this.generation;
    let ready = false;
    const child = spawnTs(
      `agents ${generation}`,
      "bench/soak/agent-child.ts",
      {
        OVERSEER_URL: this.urls.join(","),
        OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
        SOAK_GENERATION: String(generation),
        LOG_LEVEL: "warn",
        ...this.env,
      },
      {
        ipc: true,
        onLine: (line, stream) => {
          if (stream === "stdout" && line.trim() === "ready") ready = true;
        },
      },
    );
    const deadline = Date.now() + 60_000;
    while (!ready) {
      if (exited(child.proc)) throw new Error(`agent process ${generation} exited\n${child.tail()}`);
      if (Date.now() > deadline) {
        await stopChild(child.proc);
        throw new Error(`agent process ${generation} not ready within 60 s\n${child.tail()}`);
      }
      await sleep(50);
    }
    return child;
  }

  private async replaceOldest(): Promise<void> {
    const oldest = this.children.shift();
    if (oldest) {
      const kill = this.replaced % 2 === 1;
      if (kill) this.killed++;
      await stopChild(oldest.proc, kill ? "SIGKILL" : "SIGTERM", 10_000);
    }
    this.children.push(await this.spawn());
    this.replaced++;
  }

  pids(): number[] {
    return this.children.map((c) => c.proc.pid ?? 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.busy.catch(() => {});
    await Promise.all(this.children.map((c) => stopChild(c.proc, "SIGTERM", 10_000)));
    this.children = [];
  }
}
