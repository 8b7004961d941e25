// Maps each injected fault to what the replicas' own /metrics showed of it (pure: over the stored
// scrapes). A fault counts as visible only when its required signal appears in the window
// [start, end + evidenceMs]; other signals found are listed beside it.
import { sumOf } from "./prom-text.ts";
import type { FaultRecord, Sample } from "./records.ts";

export interface Evidence {
  /** The signal, e.g. `overseer_dependency_up{dependency="postgres"} = 0`. */
  metric: string;
  replica: number;
  at: number;
  /** Whether this signal is the one the fault kind requires (else supplementary). */
  required: boolean;
}

export interface FaultEvidence {
  fault: FaultRecord;
  evidence: Evidence[];
  ok: boolean;
  /** What was looked for, when nothing required was found. */
  missing?: string;
}

type Match = Record<string, string>;

/** Up samples grouped per process (replica, incarnation), in time order. */
function byProcess(samples: Sample[]): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  for (const s of samples) {
    if (!s.up) continue;
    const key = `${s.replica}/${s.incarnation}`;
    const list = out.get(key) ?? [];
    list.push(s);
    out.set(key, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.t - b.t);
  return out;
}

/**
 * First sample in [from, to] where a counter (or gauge) of one process exceeds its value at that
 * process's last sample before `from` (0 when the process had no sample before: it started later,
 * and counters start at zero).
 */
function firstRise(
  samples: Sample[],
  name: string,
  match: Match,
  from: number,
  to: number,
  replicas: { skip?: number; only?: number } = {},
): Sample | undefined {
  let first: Sample | undefined;
  for (const list of byProcess(samples).values()) {
    const replica = list[0]?.replica;
    if (replica === replicas.skip || (replicas.only !== undefined && replica !== replicas.only)) continue;
    let baseline = 0;
    for (const s of list) {
      const v = sumOf(s.series, name, match) ?? 0;
      if (s.t < from) {
        baseline = v;
        continue;
      }
      if (s.t > to) break;
      if (v > baseline) {
        if (!first || s.t < first.t) first = s;
        break;
      }
    }
  }
  return first;
}

/** First sample in [from, to] whose series satisfies `test`. */
function firstWhere(
  samples: Sample[],
  from: number,
  to: number,
  test: (s: Sample) => boolean,
): Sample | undefined {
  let first: Sample | undefined;
  for (const s of samples) {
    if (s.t < from || s.t > to || !test(s)) continue;
    if (!first || s.t < first.t) first = s;
  }
  return first;
}

/** The highest leader epoch any replica reported before `t`. */
function epochBefore(samples: Sample[], t: number): number {
  let max = 0;
  for (const s of samples)
    if (s.up && s.t < t) max = Math.max(max, sumOf(s.series, "overseer_leader_epoch") ?? 0);
  return max;
}

/** Finds the evidence of one fault in the scrapes. */
export function evidenceFor(fault: FaultRecord, samples: Sample[], evidenceMs: number): FaultEvidence {
  const from = fault.start;
  const to = fault.end + evidenceMs;
  const found: Evidence[] = [];
  const add = (metric: string, s: Sample | undefined, required: boolean) => {
    if (s) found.push({ metric, replica: s.replica, at: s.t, required });
  };
  const scrapeDown = () =>
    add(
      `up = 0 (scrape of replica ${fault.replica} failed)`,
      firstWhere(samples, from, fault.end, (s) => !s.up && s.replica === fault.replica),
      fault.kind === "replica-kill" || (fault.kind === "leader-pause" && !fault.wasLeader),
    );
  const leaderMoved = (required: boolean) => {
    const before = epochBefore(samples, from);
    add(
      `overseer_leader = 1 with overseer_leader_epoch > ${before} on another replica`,
      firstWhere(
        samples,
        from,
        to,
        (s) =>
          s.up &&
          s.replica !== fault.replica &&
          sumOf(s.series, "overseer_leader") === 1 &&
          (sumOf(s.series, "overseer_leader_epoch") ?? 0) > before,
      ),
      required,
    );
    add(
      "overseer_leader_changes_total rose on another replica",
      firstRise(samples, "overseer_leader_changes_total", {}, from, to, { skip: fault.replica }),
      required,
    );
  };
  // After SIGCONT the paused leader still believes it leads until its next tick: the fence should
  // refuse what it tries meanwhile (supplementary: it may not have tried anything).
  const fencedOnTarget = () =>
    add(
      `overseer_leader_fenced_writes_total rose on replica ${fault.replica}`,
      firstRise(samples, "overseer_leader_fenced_writes_total", {}, from, to, { only: fault.replica }),
      false,
    );
  let wanted = "";
  switch (fault.kind) {
    case "agent-kill":
      wanted = 'overseer_agent_transitions_total{to="dead"} or overseer_agents{state="dead"} rising';
      add(
        'overseer_agent_transitions_total{to="dead"} rose',
        firstRise(samples, "overseer_agent_transitions_total", { to: "dead" }, from, to),
        true,
      );
      add(
        'overseer_agents{state="dead"} rose',
        firstRise(samples, "overseer_agents", { state: "dead" }, from, to),
        true,
      );
      break;
    case "leader-kill":
      wanted =
        "a leader with a higher epoch on another replica, or overseer_leader_changes_total rising there";
      leaderMoved(true);
      scrapeDown();
      break;
    case "leader-pause":
      wanted = fault.wasLeader
        ? "a leader with a higher epoch on another replica, or overseer_leader_changes_total rising there"
        : `a failed scrape of replica ${fault.replica}`;
      leaderMoved(fault.wasLeader === true);
      scrapeDown();
      fencedOnTarget();
      break;
    case "replica-kill":
      wanted = `a failed scrape of replica ${fault.replica}`;
      scrapeDown();
      break;
    case "redis-restart":
      wanted = 'overseer_dependency_up{dependency="redis"} = 0 or overseer_loop_errors_total rising';
      add(
        'overseer_dependency_up{dependency="redis"} = 0',
        firstWhere(
          samples,
          from,
          to,
          (s) => s.up && sumOf(s.series, "overseer_dependency_up", { dependency: "redis" }) === 0,
        ),
        true,
      );
      add(
        "overseer_loop_errors_total rose",
        firstRise(samples, "overseer_loop_errors_total", {}, from, to),
        true,
      );
      break;
    case "postgres-stop":
      wanted = 'overseer_dependency_up{dependency="postgres"} = 0';
      add(
        'overseer_dependency_up{dependency="postgres"} = 0',
        firstWhere(
          samples,
          from,
          to,
          (s) => s.up && sumOf(s.series, "overseer_dependency_up", { dependency: "postgres" }) === 0,
        ),
        true,
      );
      add(
        "overseer_loop_errors_total rose",
        firstRise(samples, "overseer_loop_errors_total", {}, from, to),
        false,
      );
      break;
  }
  const ok = found.some((e) => e.required);
  return { fault, evidence: found, ok, ...(ok ? {} : { missing: wanted }) };
}
