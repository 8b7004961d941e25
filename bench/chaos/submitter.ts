// The chaos run's client: submits tasks and `mission` runs at a steady rate, round-robin over the
// replicas, and keeps its own record (JSONL) of every id a replica accepted (2xx). A submission
// that fails on the network or with a 5xx is retried on the next replica with the same
// idempotency key, so a retry of a request that did commit returns the same id instead of a copy.
import { appendFileSync } from "node:fs";
import { sleep } from "../support/timing.ts";
import { TASK_TYPE } from "./agents.ts";
import type { Accepted, Unresolved } from "./records.ts";

export interface SubmitterOptions {
  urls: string[];
  operatorToken: string;
  tasksPerSec: number;
  runsPerSec: number;
  recordFile: string;
  /** A submission is given up (recorded unresolved) after this long without a 2xx. */
  giveUpMs: number;
  /** Bound on submissions in flight (retrying ones included); the rate waits beyond it. */
  maxInFlight: number;
  /** Attempts each task gets (a fault can cost an attempt: agent killed mid-task). */
  taskMaxAttempts: number;
}

export interface SubmitterStats {
  started: number;
  accepted: number;
  unresolved: number;
  retries: number;
  /** Failed tries by cause (status or error code). */
  failures: Record<string, number>;
  /** Ticks that could not start a due submission because maxInFlight were in flight. */
  deferred: number;
}

export class Submitter {
  readonly accepted: Accepted[] = [];
  readonly unresolved: Unresolved[] = [];
  readonly stats: SubmitterStats = {
    started: 0,
    accepted: 0,
    unresolved: 0,
    retries: 0,
    failures: {},
    deferred: 0,
  };
  private stopped = false;
  private inFlight = new Set<Promise<void>>();
  private rr = 0;
  private loops: Promise<void>[] = [];

  constructor(private readonly o: SubmitterOptions) {}

  start(): void {
    const t0 = Date.now();
    this.loops = [
      this.stream("task", this.o.tasksPerSec, t0),
      ...(this.o.runsPerSec > 0 ? [this.stream("run", this.o.runsPerSec, t0)] : []),
    ];
  }

  /** Stops starting new submissions and waits for those in flight (each bounded by giveUpMs). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    await Promise.all([...this.inFlight]);
  }

  private async stream(kind: "task" | "run", perSec: number, t0: number): Promise<void> {
    let n = 0;
    while (!this.stopped) {
      const due = Math.floor(((Date.now() - t0) / 1000) * perSec);
      while (n < due && !this.stopped) {
        if (this.inFlight.size >= this.o.maxInFlight) {
          this.stats.deferred++;
          break;
        }
        n++;
        const p = this.submit(kind, `chaos-${kind}-${n}`).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }
      await sleep(50);
    }
  }

  private async submit(kind: "task" | "run", key: string): Promise<void> {
    this.stats.started++;
    const begun = Date.now();
    const path = kind === "task" ? "/api/tasks" : "/api/pipelines/mission/runs";
    const body =
      kind === "task"
        ? { type: TASK_TYPE, payload: { key }, maxAttempts: this.o.taskMaxAttempts, idempotencyKey: key }
        : { input: { request: `${key}: summarize the incident report` }, idempotencyKey: key };
    let lastError = "";
    let backoff = 100;
    let tries = 0;
    for (;;) {
      tries++;
      const replica = this.rr++ % this.o.urls.length;
      try {
        const r = await fetch(`${this.o.urls[replica]}${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${this.o.operatorToken}`, "content-type": "application/json" },
          body: JSON.stringify(body),
          // A paused replica holds the connection open: give up on it and try the next.
          signal: AbortSignal.timeout(5000),
        });
        const text = await r.text();
        if (r.status >= 200 && r.status < 300) {
          const reply = JSON.parse(text) as { id: string; deduplicated?: boolean };
          const a: Accepted = {
            kind,
            key,
            id: reply.id,
            at: Date.now(),
            replica,
            tries,
            deduplicated: reply.deduplicated === true,
          };
          this.accepted.push(a);
          this.stats.accepted++;
          appendFileSync(this.o.recordFile, `${JSON.stringify({ type: "accepted", ...a })}\n`);
          return;
        }
        lastError = `HTTP ${r.status}: ${text.slice(0, 200)}`;
        this.stats.failures[`HTTP ${r.status}`] = (this.stats.failures[`HTTP ${r.status}`] ?? 0) + 1;
        // A 4xx other than 429 will not change on a retry: the request itself is wrong.
        if (r.status >= 400 && r.status < 500 && r.status !== 429 && r.status !== 409) break;
      } catch (error) {
        const e = error as Error & { cause?: { code?: string } };
        const code = e.cause?.code ?? e.name;
        lastError = `${code}: ${e.message}`;
        this.stats.failures[code] = (this.stats.failures[code] ?? 0) + 1;
      }
      if (Date.now() - begun > this.o.giveUpMs) break;
      this.stats.retries++;
      await sleep(backoff);
      backoff = Math.min(2000, backoff * 2);
    }
    const u: Unresolved = { kind, key, at: Date.now(), tries, error: lastError };
    this.unresolved.push(u);
    this.stats.unresolved++;
    appendFileSync(this.o.recordFile, `${JSON.stringify({ type: "unresolved", ...u })}\n`);
  }
}
