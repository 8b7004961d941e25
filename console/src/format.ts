/** How the console writes times, durations, money and counts: the same everywhere. */

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  return `${duration(now - Date.parse(iso))} ago`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const sign = ms < 0 ? "-" : "";
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 60_000) return `${sign}${(abs / 1_000).toFixed(1)} s`;
  // Two units, rounded as a whole in the smaller one, so 59.6 s past a minute never reads "60 s".
  const pair = (big: number, small: number, b: string, s: string) => {
    const total = Math.round(abs / small);
    const per = big / small;
    return `${sign}${Math.floor(total / per)} ${b} ${total % per} ${s}`;
  };
  if (abs < 3_600_000) return pair(60_000, 1_000, "min", "s");
  if (abs < 86_400_000) return pair(3_600_000, 60_000, "h", "min");
  return pair(86_400_000, 3_600_000, "d", "h");
}

export function time(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

export function usd(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  // A spend too small for four decimals is still a spend: "< $0.0001", not "$0.0000".
  if (value === 0) return "$0.00";
  if (value > 0 && value < 0.0001) return "< $0.0001";
  return `$${value < 1 ? value.toFixed(4) : value.toFixed(2)}`;
}

export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : n.toLocaleString("en-US");
}

/** A rate as a percentage, or "no data" when its denominator was zero (0 of 0 is not 0 %). */
export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? "no data" : `${(rate * 100).toFixed(1)} %`;
}

export function short(id: string): string {
  return id.length > 12 ? id.slice(0, 8) : id;
}
