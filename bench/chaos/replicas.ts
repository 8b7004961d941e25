// The daemon replicas of a chaos run: child processes of `app/main.ts` on fixed ports (so the
// agents' and the submitter's URL lists stay valid across restarts). A replica that exits without
// being killed on purpose is logged and restarted, as a process supervisor would.
import { call } from "../../test/helpers/api-client.ts";
import { type Child, exited, spawnTs, stopChild } from "../support/children.ts";
import { sleep } from "../support/timing.ts";
import type { Incarnation, ProcessEvent } from "./records.ts";

export interface Replica {
  index: number;
  port: number;
  url: string;
  child: Child | null;
  /** Starts so far minus one (the current process's incarnation). */
  incarnation: number;
  /** Set while the orchestrator kills or pauses it on purpose. */
  planned: boolean;
  paused: boolean;
  problems: Record<string, number>;
}

export class ReplicaSet {
  readonly replicas: Replica[];
  readonly incarnations: Incarnation[] = [];
  readonly events: ProcessEvent[] = [];
  private closing = false;

  constructor(
    ports: number[],
    private readonly env: Record<string, string>,
  ) {
    this.replicas = ports.map((port, index) => ({
      index,
      port,
      url: `http://127.0.0.1:${port}`,
      child: null,
      incarnation: -1,
      planned: false,
      paused: false,
      problems: {},
    }));
  }

  get urls(): string[] {
    return this.replicas.map((r) => r.url);
  }

  /** Starts replica `i` and resolves once its /readyz is 200 (bounded by `timeoutMs`). */
  async start(i: number, timeoutMs = 60_000): Promise<void> {
    const r = this.replicas[i]!;
    r.incarnation++;
    const record: Incarnation = {
      replica: i,
      incarnation: r.incarnation,
      replicaId: null,
      startedAt: Date.now(),
    };
    this.incarnations.push(record);
    const child = spawnTs(
      `replica ${i}`,
      "app/main.ts",
      { ...this.env, PORT: String(r.port) },
      {
        onLine: (line) => {
          let entry: { level?: number; msg?: string; replicaId?: string };
          try {
            entry = JSON.parse(line);
          } catch {
            if (line.trim() !== "")
              r.problems[line.slice(0, 120)] = (r.problems[line.slice(0, 120)] ?? 0) + 1;
            return;
          }
          if (entry.msg === "overseer is running" && entry.replicaId) record.replicaId = entry.replicaId;
          if ((entry.level ?? 0) >= 40) {
            const key = `${entry.level === 40 ? "warn" : "error"}: ${entry.msg ?? ""}`.slice(0, 120);
            r.problems[key] = (r.problems[key] ?? 0) + 1;
          }
        },
      },
    );
    r.child = child;
    r.planned = false;
    child.proc.once("exit", (code, signal) => {
      if (r.child !== child || r.planned || this.closing) return;
      this.events.push({
        at: Date.now(),
        replica: i,
        what: "unplanned-exit",
        detail: `exit ${code ?? signal}; last output: ${child.tail().split("\n").slice(-2).join(" / ").slice(0, 300)}`,
      });
      void this.superviseRestart(i);
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exited(child.proc)) throw new Error(`replica ${i} exited during start\n${child.tail()}`);
      const ready = await call(r.url, "GET", "/readyz").then(
        (x) => x.status === 200,
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline)
        throw new Error(`replica ${i} not ready within ${timeoutMs} ms\n${child.tail()}`);
      await sleep(200);
    }
  }

  /** After a crash: start again every 2 s until it is up or the run is closing. */
  private async superviseRestart(i: number): Promise<void> {
    for (let attempt = 1; !this.closing && attempt <= 100; attempt++) {
      await sleep(2000);
      if (this.closing) return;
      try {
        await this.start(i, 60_000);
        this.events.push({
          at: Date.now(),
          replica: i,
          what: "supervisor-restart",
          detail: `ready (attempt ${attempt})`,
        });
        return;
      } catch (error) {
        const child = this.replicas[i]!.child;
        if (child) {
          this.replicas[i]!.planned = true;
          await stopChild(child.proc, "SIGKILL");
        }
        this.events.push({
          at: Date.now(),
          replica: i,
          what: "supervisor-restart",
          detail: `failed (attempt ${attempt}): ${(error as Error).message.split("\n")[0]}`,
        });
      }
    }
  }

  /** SIGKILLs replica `i` on purpose (no unplanned-exit record). */
  async kill(i: number): Promise<void> {
    const r = this.replicas[i]!;
    r.planned = true;
    if (r.paused) this.resume(i);
    if (r.child) await stopChild(r.child.proc, "SIGKILL");
  }

  pause(i: number): void {
    const r = this.replicas[i]!;
    r.paused = true;
    r.child?.proc.kill("SIGSTOP");
  }

  resume(i: number): void {
    const r = this.replicas[i]!;
    r.child?.proc.kill("SIGCONT");
    r.paused = false;
  }

  /** SIGTERM every replica (drain), SIGKILL after the grace. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.replicas.map(async (r) => {
        r.planned = true;
        if (r.paused) this.resume(r.index);
        if (r.child) await stopChild(r.child.proc, "SIGTERM", 10_000);
      }),
    );
  }
}
