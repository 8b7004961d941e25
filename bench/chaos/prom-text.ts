// Reads the few series the checker needs out of a Prometheus text exposition (/metrics).

/** Metric families the chaos checker looks at; everything else in a scrape is dropped. */
export const KEPT_METRICS = [
  "overseer_leader",
  "overseer_leader_epoch",
  "overseer_leader_changes_total",
  "overseer_leader_fenced_writes_total",
  "overseer_agents",
  "overseer_agent_transitions_total",
  "overseer_dependency_up",
  "overseer_loop_errors_total",
] as const;

/** One series of a scrape: `name{a="1",b="2"}` → value (labels in exposition order). */
export type Series = Record<string, number>;

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/;

/** The kept series of one scrape. */
export function parseKept(text: string, kept: readonly string[] = KEPT_METRICS): Series {
  const wanted = new Set(kept);
  const out: Series = {};
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m || !wanted.has(m[1] as string)) continue;
    const value = Number(m[3]);
    if (Number.isFinite(value)) out[`${m[1]}${m[2] ?? ""}`] = value;
  }
  return out;
}

/** The labels of a series key (`name{a="1"}` → {a: "1"}). */
export function labelsOf(key: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const body = /\{(.*)\}$/.exec(key)?.[1] ?? "";
  for (const m of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
    labels[m[1] as string] = m[2] as string;
  return labels;
}

/** `sumOf` straight from a scrape's text: one metric's series, summed over those matching. */
export function sumIn(text: string, name: string, match: Record<string, string> = {}): number | undefined {
  return sumOf(parseKept(text, [name]), name, match);
}

/**
 * Sum of the series of `name` whose labels include every pair of `match`; undefined when no series
 * matches (absent is not zero: a gauge that was never set says nothing).
 */
export function sumOf(series: Series, name: string, match: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const [key, value] of Object.entries(series)) {
    const brace = key.indexOf("{");
    if ((brace === -1 ? key : key.slice(0, brace)) !== name) continue;
    const labels = labelsOf(key);
    if (Object.entries(match).every(([k, v]) => labels[k] === v)) total = (total ?? 0) + value;
  }
  return total;
}
