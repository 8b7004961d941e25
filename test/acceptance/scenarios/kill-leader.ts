import type { ReplicaSet } from "../../helpers/replica-set.ts";

export interface LeaderKill {
  /** The replica that was killed (the leader when there are several). */
  index: number;
  /** Date.now() at the SIGKILL. */
  killedAt: number;
  /** Milliseconds from the SIGKILL until a surviving replica reported `overseer_leader 1` (N > 1). */
  newLeaderAfterMs: number | null;
  /** Milliseconds from the SIGKILL until the killed replica was ready again. */
  downMs: number;
  /** For the acceptance line. */
  summary: string;
}

/**
 * "SIGKILL the daemon" for a replica set: with one replica that replica; with several, the leader
 * (the one whose /metrics says `overseer_leader 1`). It is started again `downForMs` after the kill,
 * as the single-daemon tests did, and with several replicas not before a survivor leads. Meanwhile the survivors are watched for a new leader: a killed
 * leader never releases its lease, so one of them takes over when the lease expires
 * (OVERSEER_LEADER_LEASE_MS) plus up to one renewal period (a third of the lease).
 */
export async function killLeader(
  set: ReplicaSet,
  downForMs: number,
  /** Runs while the killed replica is down, just before it is started again. */
  whileDown: () => Promise<void> = async () => {},
): Promise<LeaderKill> {
  const index = set.size === 1 ? 0 : await set.leader();
  const survivors = set.urls.map((_, i) => i).filter((i) => i !== index);
  await set.kill(index);
  const killedAt = Date.now();
  // Bounded by the leader() timeout (three leases); the failure shows in the summary, not as a throw,
  // so the scenario's own assertions still run and say what was lost, if anything.
  const takeover =
    survivors.length === 0
      ? Promise.resolve(null)
      : set.leader(set.config.leaderLeaseMs * 3, survivors).then(
          (i) => ({ i, ms: Date.now() - killedAt }),
          () => null,
        );
  // The killed replica stays down until a survivor has taken over (or the wait ran out), so the
  // takeover is the survivors' and not the restarted replica winning the lease back.
  const next = await takeover;
  await new Promise((r) => setTimeout(r, Math.max(0, killedAt + downForMs - Date.now())));
  await whileDown();
  await set.restart(index);
  const downMs = Date.now() - killedAt;
  const newLeaderAfterMs = next?.ms ?? null;
  const summary =
    set.size === 1
      ? `daemon back after ${downMs} ms`
      : `leader replica ${index} SIGKILLed and back after ${downMs} ms, ` +
        (next
          ? `replica ${next.i} leader ${next.ms} ms after the kill (lease ${set.config.leaderLeaseMs} ms)`
          : `NO surviving replica became leader within ${set.config.leaderLeaseMs * 3} ms`);
  return { index, killedAt, newLeaderAfterMs, downMs, summary };
}
