import { Job, Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { type DispatchLane, dispatchRank, laneOfRank } from "../../tasks/dispatch-order.ts";

export interface QueuedJob {
  taskId: string;
  /** Acknowledges the dispatch copy once the lease is in Postgres (or the entry turned out stale). */
  ack(): Promise<void>;
}

/**
 * The dispatch layer: one BullMQ queue per task type. Jobs carry only the task id (jobId = task id,
 * so a repeated enqueue of a waiting task is a no-op); the payload and every state live in Postgres.
 * Claims pull with a manual, non-blocking `getNextJob` and acknowledge at once: the lease with its
 * fencing token is Postgres's, not BullMQ's lock.
 */
/** What a dispatch entry is made from. */
export interface QueueEntry {
  id: string;
  type: string;
  priority: number;
  delayMs: number;
  lane?: DispatchLane;
}

function jobOptions(task: QueueEntry) {
  return {
    jobId: task.id,
    priority: dispatchRank(task.priority, task.lane ?? "fresh"),
    delay: task.delayMs > 0 ? task.delayMs : undefined,
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/** Approximate length of BullMQ's events stream per queue (its default is 10,000). */
export const EVENTS_STREAM_MAX_LEN = 500;

export class TaskQueues {
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Map<string, Worker>();
  private closed = false;

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly onError: (error: Error) => void,
  ) {}

  private queue(type: string): Queue {
    let q = this.queues.get(type);
    if (!q) {
      // BullMQ's per-queue events stream is kept to 10,000 entries by default: about a megabyte
      // per task type that nothing here reads (no QueueEvents). Keep a short tail for debugging.
      q = new Queue(type, {
        connection: this.connection,
        prefix: this.prefix,
        streams: { events: { maxLen: EVENTS_STREAM_MAX_LEN } },
      });
      q.on("error", this.onError);
      this.queues.set(type, q);
    }
    return q;
  }

  private worker(type: string): Worker {
    let w = this.workers.get(type);
    if (!w) {
      // No processor and no autorun: this worker only hands out jobs on request. The stalled
      // checker returns a job to the queue if a daemon died between pulling it and acknowledging.
      w = new Worker(type, null, {
        connection: this.connection,
        prefix: this.prefix,
        autorun: false,
        // Held only between pulling a job and acknowledging it (milliseconds), so short values are
        // safe, and a daemon killed in that window has its job back within seconds.
        lockDuration: 10_000,
        stalledInterval: 5_000,
      });
      w.on("error", this.onError);
      w.startStalledCheckTimer().catch(this.onError);
      this.workers.set(type, w);
    }
    return w;
  }

  /**
   * Adds (or keeps) the dispatch entry for a task. Every job gets a BullMQ priority (its rank: API
   * priority and lane, dispatch-order.ts), so all are ordered, FIFO within a rank.
   */
  async enqueue(task: QueueEntry): Promise<void> {
    await this.queue(task.type).add("task", {}, jobOptions(task));
  }

  /**
   * Adds (or keeps) the dispatch entries of many tasks of one type in one round trip (BullMQ's
   * addBulk: one MULTI of its add scripts), in the order given.
   */
  async enqueueMany(type: string, tasks: QueueEntry[]): Promise<void> {
    await this.queue(type).addBulk(tasks.map((t) => ({ name: "task", data: {}, opts: jobOptions(t) })));
  }

  /**
   * Takes up to `max` ready jobs of a type, in dispatch order: the first at once, together with a
   * count of the ready jobs, then as many more as that count allows, all at once. With the
   * connection's auto-pipelining each group leaves in one write, so a claim for 16 costs two round
   * trips to Redis, not sixteen; counting first keeps an almost empty queue from costing 16 empty
   * takes. Fewer than `max` back means the queue had no more ready jobs.
   */
  async takeMany(type: string, token: string, max: number): Promise<QueuedJob[]> {
    if (this.closed || max <= 0) return [];
    const worker = this.worker(type);
    const next = async (): Promise<QueuedJob | null> => {
      const job = (await worker.getNextJob(token, { block: false })) as Job | undefined;
      if (!job?.id) return null;
      return {
        taskId: job.id,
        ack: async () => {
          await job.moveToCompleted(null, token, false);
        },
      };
    };
    const [first, ready] = await Promise.all([next(), max > 1 ? this.readyCount(type) : 0]);
    if (!first) return [];
    // The count was read before the first take, which may have taken one of them.
    const more = Math.min(max - 1, ready - 1);
    if (more <= 0) return [first];
    const rest = await Promise.all(Array.from({ length: more }, next));
    return [first, ...rest.filter((j): j is QueuedJob => j !== null)];
  }

  /** Jobs of a type ready to take now (BullMQ's wait list and prioritized set; delayed ones not). */
  private async readyCount(type: string): Promise<number> {
    const base = `${this.prefix}:${type}`;
    const replies =
      (await this.connection.pipeline().llen(`${base}:wait`).zcard(`${base}:prioritized`).exec()) ?? [];
    return replies.reduce((sum, [, n]) => sum + (typeof n === "number" ? n : 0), 0);
  }

  /** Which of these task ids have a dispatch entry of any state (reconciler input). */
  async present(tasks: Array<{ id: string; type: string }>): Promise<Set<string>> {
    const found = new Set<string>();
    if (tasks.length === 0) return found;
    const pipeline = this.connection.pipeline();
    for (const t of tasks) pipeline.exists(`${this.prefix}:${t.type}:${t.id}`);
    const replies = (await pipeline.exec()) ?? [];
    tasks.forEach((t, i) => {
      if (replies[i]?.[1] === 1) found.add(t.id);
    });
    return found;
  }

  /** Dispatch entries of a type by BullMQ state (diagnostics compares them with Postgres). */
  async jobCounts(type: string): Promise<{ waiting: number; delayed: number; active: number }> {
    const c = await this.queue(type).getJobCounts("wait", "prioritized", "delayed", "active");
    return { waiting: (c.wait ?? 0) + (c.prioritized ?? 0), delayed: c.delayed ?? 0, active: c.active ?? 0 };
  }

  /** Removes a waiting dispatch entry (e.g. the task finished elsewhere); ignores locked ones. */
  async remove(type: string, taskId: string): Promise<void> {
    await this.queue(type)
      .remove(taskId)
      .catch(() => 0);
  }

  /**
   * Changes a waiting job's priority, keeping its lane (a rescued task stays ahead of the fresh ones
   * of its new priority); a job already taken (or gone) is left alone.
   */
  async changePriority(type: string, taskId: string, priority: number): Promise<void> {
    const job = await Job.fromId(this.queue(type), taskId);
    if (!job) return;
    const rank = dispatchRank(priority, laneOfRank(job.priority));
    await job.changePriority({ priority: rank }).catch(() => {});
  }

  /** Closes every queue and worker; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.workers.values()].map((w) => w.close(true)));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
  }
}
