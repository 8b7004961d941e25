import type { RestartKind, RestartPolicy } from "./restart-policy.ts";

/** One entry of the managed-agents file: a command run as `replicas` supervised processes. */
export interface ManagedAgentSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  replicas: number;
  policy: RestartPolicy;
  /** A run at least this long resets the backoff streak (the child was healthy). */
  healthyAfterMs: number;
  /** Time between SIGTERM and SIGKILL when stopping a child. */
  stopGraceMs: number;
}

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const KINDS: readonly RestartKind[] = ["permanent", "transient", "temporary"];

/**
 * Parses the managed-agents file (JSON, see docs/recovery.md). Pure: the text in, the specs out, or
 * an Error naming every problem, so a bad file stops the daemon at start instead of half-running.
 */
export function parseManagedAgents(text: string): ManagedAgentSpec[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new Error(`managed agents file is not JSON: ${(error as Error).message}`);
  }
  const list = (doc as { agents?: unknown })?.agents;
  if (!Array.isArray(list)) throw new Error('managed agents file needs {"agents": [...]}');
  const problems: string[] = [];
  const specs: ManagedAgentSpec[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of (list as Array<Record<string, unknown>>).entries()) {
    const at = `agents[${i}]`;
    const bad = (msg: string): void => {
      problems.push(`${at}: ${msg}`);
    };
    if (raw === null || typeof raw !== "object") {
      bad("must be an object");
      continue;
    }
    const name = raw.name;
    if (typeof name !== "string" || !NAME.test(name)) {
      bad("name: lower-case letters, digits, - and _");
      continue;
    }
    if (seen.has(name)) {
      bad(`name ${name} appears twice`);
      continue;
    }
    seen.add(name);
    if (typeof raw.command !== "string" || raw.command === "") {
      bad("command is required");
      continue;
    }
    const args = raw.args ?? [];
    if (!Array.isArray(args) || args.some((a) => typeof a !== "string")) {
      bad("args: strings");
      continue;
    }
    const env = raw.env ?? {};
    if (
      env === null ||
      typeof env !== "object" ||
      Object.values(env as object).some((v) => typeof v !== "string")
    ) {
      bad("env: an object of strings");
      continue;
    }
    const num = (v: unknown, key: string, fallback: number, min: number, max: number): number => {
      if (v === undefined) return fallback;
      if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
        bad(`${key} must be a number in [${min}, ${max}]`);
        return fallback;
      }
      return v;
    };
    const restart = raw.restart ?? "permanent";
    if (!KINDS.includes(restart as RestartKind)) {
      bad(`restart: one of ${KINDS.join(", ")}`);
      continue;
    }
    const backoff = (raw.backoff ?? {}) as Record<string, unknown>;
    const intensity = (raw.intensity ?? {}) as Record<string, unknown>;
    const initialMs = num(backoff.initialMs, "backoff.initialMs", 500, 0, 3_600_000);
    const spec: ManagedAgentSpec = {
      name,
      command: raw.command,
      args: args as string[],
      env: env as Record<string, string>,
      replicas: Math.floor(num(raw.replicas, "replicas", 1, 1, 100)),
      policy: {
        restart: restart as RestartKind,
        backoffInitialMs: initialMs,
        backoffMaxMs: num(backoff.maxMs, "backoff.maxMs", 30_000, initialMs, 86_400_000),
        backoffFactor: num(backoff.factor, "backoff.factor", 2, 1, 10),
        maxRestarts: Math.floor(num(intensity.maxRestarts, "intensity.maxRestarts", 5, 0, 10_000)),
        periodMs: num(intensity.periodMs, "intensity.periodMs", 60_000, 1, 86_400_000),
      },
      healthyAfterMs: num(raw.healthyAfterMs, "healthyAfterMs", 10_000, 0, 86_400_000),
      stopGraceMs: num(raw.stopGraceMs, "stopGraceMs", 5_000, 0, 600_000),
    };
    specs.push(spec);
  }
  if (problems.length > 0) throw new Error(`managed agents file: ${problems.join("; ")}`);
  return specs;
}
