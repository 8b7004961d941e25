import { dropNamespace } from "../../test/helpers/namespace-cleanup.ts";
import { ratio, type Summary, summarize } from "../stats.ts";
import { exited, stopChild } from "../support/children.ts";
import { type BenchDaemon, startBenchDaemon } from "../support/daemon.ts";
import { benchNamespace } from "../support/services.ts";
import { sleep } from "../support/timing.ts";

export interface FailoverParams {
  /** OVERSEER_LEADER_LEASE_MS of both replicas: the bound a follower waits after a crash. */
  leaseMs: number;
  /** Leader kills (SIGKILL), and as many graceful stops (SIGTERM). */
  samples: number;
  /** How often each replica's /metrics is read while waiting for a new leader. */
  pollMs: number;
}

export interface FailoverSide {
  /** Signal → the survivor's /metrics shows `overseer_leader 1`, ms. */
  samplesMs: number[];
  summary: Summary | null;
}

export interface FailoverResult {
  params: FailoverParams;
  namespace: string;
  kill: FailoverSide;
  graceful: FailoverSide;
  /** Overseer / the configured lease (lower is better for Overseer). */
  ratios: { killP50: number | null; killP99: number | null; gracefulP99: number | null };
}

/** `overseer_leader` of one replica (1 or 0), or null when its /metrics cannot be read. */
async function isLeader(d: BenchDaemon): Promise<boolean | null> {
  if (exited(d.child.proc)) return null;
  try {
    const response = await fetch(`${d.url}/metrics`, { signal: AbortSignal.timeout(2_000) });
    const text = await response.text();
    const m = /^overseer_leader (\d+)/m.exec(text);
    return m ? m[1] === "1" : null;
  } catch {
    return null;
  }
}

/** Polls both replicas until exactly one reports leader; returns its index. */
async function findLeader(replicas: BenchDaemon[], pollMs: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(replicas.map(isLeader));
    const leaders = states.flatMap((s, i) => (s ? [i] : []));
    if (leaders.length === 1) return leaders[0] as number;
    if (Date.now() > deadline)
      throw new Error(`no single leader within ${timeoutMs} ms (states: ${JSON.stringify(states)})`);
    await sleep(pollMs);
  }
}

/**
 * Leader failover, observed from outside: two replicas (`app/main.ts` child processes) on one
 * namespace with `OVERSEER_LEADER_LEASE_MS = leaseMs`. Per sample: find the leader by its
 * `overseer_leader` gauge, send it the signal, and time until the survivor's gauge reads 1; then start
 * a fresh replica in its place. `samples` SIGKILLs (the lease must expire), then `samples` SIGTERMs
 * (the lease is released on shutdown).
 */
export async function leaderFailover(p: FailoverParams): Promise<FailoverResult> {
  const namespace = benchNamespace("failover");
  const env = { OVERSEER_LEADER_LEASE_MS: String(p.leaseMs) };
  const replicas: BenchDaemon[] = [];
  const kill: number[] = [];
  const graceful: number[] = [];
  try {
    replicas.push(await startBenchDaemon(namespace, env));
    replicas.push(await startBenchDaemon(namespace, env));
    for (const [signal, samples] of [
      ["SIGKILL", kill],
      ["SIGTERM", graceful],
    ] as const) {
      for (let i = 0; i < p.samples; i++) {
        const leader = await findLeader(replicas, p.pollMs, 30_000 + p.leaseMs * 3);
        const victim = replicas[leader] as BenchDaemon;
        const survivor = replicas[1 - leader] as BenchDaemon;
        // Both replicas have been up for a while: the survivor is a settled follower.
        await sleep(500);
        const t0 = performance.now();
        victim.child.proc.kill(signal);
        const limit = t0 + 30_000 + p.leaseMs * 3;
        for (;;) {
          if ((await isLeader(survivor)) === true) break;
          if (performance.now() > limit) throw new Error(`no failover within ${Math.round(limit - t0)} ms`);
          await sleep(p.pollMs);
        }
        samples.push(Math.round(performance.now() - t0));
        // A stopping replica finishes its drain before the next one starts (no third process around).
        await stopChild(victim.child.proc, signal, 10_000);
        // After the last sample no replacement is needed.
        if (signal === "SIGTERM" && i === p.samples - 1) replicas.splice(leader, 1);
        else replicas[leader] = await startBenchDaemon(namespace, env);
      }
    }
    const ks = kill.length > 0 ? summarize(kill) : null;
    const gs = graceful.length > 0 ? summarize(graceful) : null;
    return {
      params: p,
      namespace,
      kill: { samplesMs: kill, summary: ks },
      graceful: { samplesMs: graceful, summary: gs },
      ratios: {
        killP50: ratio(ks?.p50, p.leaseMs),
        killP99: ratio(ks?.p99, p.leaseMs),
        gracefulP99: ratio(gs?.p99, p.leaseMs),
      },
    };
  } finally {
    // startBenchDaemon's close() drops the namespace: stop the processes first, then drop it once.
    for (const r of replicas) await stopChild(r.child.proc, "SIGTERM", 10_000);
    await dropNamespace(namespace);
  }
}
