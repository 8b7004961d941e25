import { FIGURES, type Figure, type FigureId } from "../../contract/figures.ts";
import { checkFlags, stringFlag } from "./args.ts";
import { request } from "./cli-http.ts";
import type { CommandContext, CommandResult } from "./command-context.ts";
import { table } from "./render.ts";

/**
 * The figures' commands (docs/figures.md). `--json` prints the API's answer as is, so a script
 * reads the same fields as the API; the text labels each value with the registry's name and id.
 */

/** A figure's value as people read it; null says why there is no number rather than showing 0. */
export function figureValue(f: Figure, v: unknown): string {
  if (v === null || v === undefined) return f.whenNull ? `null (${f.whenNull})` : "null";
  if (typeof v !== "number") return JSON.stringify(v);
  switch (f.unit) {
    case "ratio":
      return `${(v * 100).toFixed(1)} % (${Math.round(v * 1e4) / 1e4})`;
    case "usd":
      return `$${v}`;
    case "ms":
      return `${v} ms`;
    default:
      return String(v);
  }
}

/** `overseer kpis [--range 7days|30days|90days|all]`: the KPI figures of a period ending now. */
export async function kpisCommand(ctx: CommandContext): Promise<CommandResult> {
  checkFlags(ctx.args, ["range"]);
  const range = stringFlag(ctx.args, "range") ?? "30days";
  const body = await request<{ from: string | null; to: string; current: Record<string, unknown> }>(
    ctx.target,
    "GET",
    `/api/analytics/kpis?${new URLSearchParams({ range })}`,
  );
  const rows = (Object.values(FIGURES) as Figure[])
    .filter((f) => f.kpi !== undefined)
    .map((f) => ({ figure: f.name, id: f.id, value: figureValue(f, body.current[f.kpi as string]) }));
  return {
    data: body,
    text: `${range}: ${body.from ?? "the beginning"} to ${body.to}\n\n${table(rows, ["figure", "id", "value"])}`,
  };
}

/** `overseer success-rate`: the attempt success rate over its windows (coordination read). */
export async function successRateCommand(ctx: CommandContext): Promise<CommandResult> {
  checkFlags(ctx.args, []);
  type Window = { completed: number; failed: number; rate: number | null };
  const body = await request<{ live: Window; windows: Record<string, Window> }>(
    ctx.target,
    "GET",
    "/api/dashboard/coordination/success-rate",
  );
  const id: FigureId = "attempt_success_rate";
  const f: Figure = FIGURES[id];
  const windows: Array<[string, Window]> = [["5m", body.live], ...Object.entries(body.windows)];
  const rows = windows.map(([window, w]) => ({
    window,
    completed: w.completed,
    failed: w.failed,
    value: figureValue(f, w.rate),
  }));
  return {
    data: body,
    text: `${f.name} (${id})\n\n${table(rows, ["window", "completed", "failed", "value"])}`,
  };
}
