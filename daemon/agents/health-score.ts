/**
 * Health score 0–100 for the dashboards, from three observed signals, each 0–1:
 *  - regularity (40 %): how close the last heartbeat age is to the expected interval
 *    (1 up to 1.5 intervals, falling linearly to 0 at the stale threshold: a stale agent is missing
 *    heartbeats and scores at most 60);
 *  - latency (20 %): heartbeat lateness — the mean gap between heartbeats against the interval;
 *  - success (40 %): completed / (completed + failed) of the agent's attempts in the last hour
 *    (1 with no finished attempts yet: no evidence of failure is not evidence of trouble).
 * Dead and left agents score 0.
 */
export interface HealthInputs {
  state: string;
  heartbeatAgeMs: number;
  meanHeartbeatGapMs: number | null;
  heartbeatIntervalMs: number;
  staleAfterMs: number;
  completed: number;
  failed: number;
}

export function healthScore(i: HealthInputs): number {
  if (i.state === "dead" || i.state === "left") return 0;
  const grace = 1.5 * i.heartbeatIntervalMs;
  const regularity =
    i.heartbeatAgeMs <= grace
      ? 1
      : clamp01(1 - (i.heartbeatAgeMs - grace) / Math.max(1, i.staleAfterMs - grace));
  const latency =
    i.meanHeartbeatGapMs === null
      ? 1
      : clamp01(
          1 - Math.max(0, i.meanHeartbeatGapMs - i.heartbeatIntervalMs) / Math.max(1, i.heartbeatIntervalMs),
        );
  const finished = i.completed + i.failed;
  const success = finished === 0 ? 1 : i.completed / finished;
  return Math.round(100 * (0.4 * regularity + 0.2 * latency + 0.4 * success));
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
