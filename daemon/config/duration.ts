/** Parses a human duration ("30s", "500ms", "2m", "1h", or a bare number of milliseconds) into milliseconds. */
export function parseDurationMs(input: string): number {
  const text = input.trim();
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text);
  if (!match) throw new TypeError(`"${input}" is not a duration (use e.g. 500ms, 30s, 2m, 1h)`);
  const value = Number(match[1]);
  const unit = match[2] ?? "ms";
  const factor = unit === "ms" ? 1 : unit === "s" ? 1_000 : unit === "m" ? 60_000 : 3_600_000;
  return Math.round(value * factor);
}
