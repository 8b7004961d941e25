import { call } from "../../test/helpers/api-client.ts";
import { TOKENS } from "../support/services.ts";

/**
 * Fixed-rate load: `tasksPerS` `soak.work` tasks and `runsPerMin` `mission` runs, spread round-robin
 * over the replicas. The schedule is by wall clock (what is due since the start), so a slow answer
 * does not lower the offered rate; with `maxInFlight` requests outstanding, due work is counted as
 * shed instead of queued without bound in this process.
 */
export class SteadyLoad {
  tasksSubmitted = 0;
  runsSubmitted = 0;
  errors = 0;
  shed = 0;
  lastError = "";
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private next = 0;
  private started = 0;
  private tasksDue = 0;
  private runsDue = 0;
  private pending = new Set<Promise<void>>();

  constructor(
    private readonly urls: string[],
    private readonly tasksPerS: number,
    private readonly runsPerMin: number,
    private readonly maxInFlight = 64,
  ) {}

  start(): void {
    this.started = performance.now();
    // 100 ms ticks: at 10 tasks/s about one request per tick, so the load is even, not bursty.
    this.timer = setInterval(() => this.tick(), 100);
  }

  private tick(): void {
    const s = (performance.now() - this.started) / 1000;
    const tasks = Math.floor(s * this.tasksPerS) - this.tasksDue;
    const runs = Math.floor((s * this.runsPerMin) / 60) - this.runsDue;
    this.tasksDue += tasks;
    this.runsDue += runs;
    for (let i = 0; i < runs; i++)
      this.send("/api/pipelines/mission/runs", { input: { request: "summarize the soak" } }, true);
    for (let i = 0; i < tasks; i++)
      this.send("/api/tasks", { type: "soak.work", payload: { n: this.tasksDue } }, false);
  }

  private send(path: string, body: unknown, run: boolean): void {
    if (this.inFlight >= this.maxInFlight) {
      this.shed++;
      return;
    }
    const url = this.urls[this.next++ % this.urls.length] as string;
    this.inFlight++;
    const p = call(url, "POST", path, { token: TOKENS.operator, body })
      .then((r) => {
        if (r.status === 201 || r.status === 202 || r.status === 200) {
          if (run) this.runsSubmitted++;
          else this.tasksSubmitted++;
        } else {
          this.errors++;
          this.lastError = `${path} ${r.status} ${r.text.slice(0, 200)}`;
        }
      })
      .catch((e: Error) => {
        this.errors++;
        this.lastError = `${path} ${e.message}`;
      })
      .finally(() => {
        this.inFlight--;
        this.pending.delete(p);
      });
    this.pending.add(p);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.pending]);
  }
}
