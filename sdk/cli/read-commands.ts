import { checkFlags, parseSince, stringFlag } from "./args.ts";
import { listOf, request } from "./cli-http.ts";
import type { CommandContext, CommandResult } from "./command-context.ts";
import { CliError, EXIT } from "./exit-codes.ts";
import { healthLines, table, taskLines, totalsLine } from "./render.ts";

/** Builds a query string from the flags that are set. */
function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** `overseer status`: the system health read. */
export async function statusCommand(ctx: CommandContext): Promise<CommandResult> {
  checkFlags(ctx.args, []);
  const health = await request<Parameters<typeof healthLines>[0]>(
    ctx.target,
    "GET",
    "/api/dashboard/system/health",
  );
  return { data: health, text: healthLines(health) };
}

/** `overseer agents [--role r] [--state s] [--all]`: the registered agents. */
export async function agentsCommand(ctx: CommandContext): Promise<CommandResult> {
  checkFlags(ctx.args, ["role", "state", "limit"]);
  const path = `/api/dashboard/agents/status${query({
    role: stringFlag(ctx.args, "role"),
    state: stringFlag(ctx.args, "state"),
    limit: stringFlag(ctx.args, "limit"),
  })}`;
  const body = await request(ctx.target, "GET", path);
  const agents = listOf(body, "agents");
  return { data: body, text: table(agents, ["id", "name", "role", "state", "load", "heartbeatAgeMs"]) };
}

/** `overseer tasks [--type t] [--state s]` (queues) or `overseer tasks <id>` (one task). */
export async function tasksCommand(ctx: CommandContext): Promise<CommandResult> {
  checkFlags(ctx.args, ["type", "state"]);
  const id = ctx.args.positionals[1];
  if (id) {
    const task = await request(ctx.target, "GET", `/api/tasks/${encodeURIComponent(id)}`);
    return { data: task, text: taskLines(task) };
  }
  const path = `/api/dashboard/tasks/queue${query({
    type: stringFlag(ctx.args, "type"),
    state: stringFlag(ctx.args, "state"),
  })}`;
  const body = await request(ctx.target, "GET", path);
  const queues = listOf(body, "queues");
  return {
    data: body,
    text: `totals: ${totalsLine(body?.totals as Record<string, unknown> | undefined)}\n\n${table(queues, ["type", "state", "count", "oldestAgeSeconds"])}`,
  };
}

/** `overseer runs [--state s] [--template t] [--limit n]`: pipeline runs, newest first. */
export async function runsCommand(ctx: CommandContext): Promise<CommandResult> {
  checkFlags(ctx.args, ["state", "template", "limit"]);
  const path = `/api/pipelines/runs${query({
    state: stringFlag(ctx.args, "state"),
    template: stringFlag(ctx.args, "template"),
    limit: stringFlag(ctx.args, "limit"),
  })}`;
  const body = await request(ctx.target, "GET", path);
  const runs = listOf(body, "runs");
  return {
    data: body,
    text: `${table(runs, ["id", "template", "state", "percent", "createdAt"])}\n(${runs.length} of ${body?.total ?? runs.length})`,
  };
}

const STRATEGIES = ["conservative", "smart", "aggressive"];

/** `overseer heal [--strategy s] [--dry-run]`: auto-heal on demand; --dry-run only plans. */
export async function healCommand(ctx: CommandContext): Promise<CommandResult> {
  checkFlags(ctx.args, ["strategy", "dry-run"]);
  const strategy = stringFlag(ctx.args, "strategy") ?? "conservative";
  if (!STRATEGIES.includes(strategy)) {
    throw new CliError(EXIT.usage, `--strategy must be one of ${STRATEGIES.join(", ")}`);
  }
  const dryRun = ctx.args.flags["dry-run"] === true;
  const body = await request(ctx.target, "POST", "/api/dashboard/recovery/auto-heal", { strategy, dryRun });
  const list = (k: string) => listOf(body, k);
  const text = [
    `${dryRun ? "plan (dry run, nothing done)" : "heal"}: strategy ${strategy}`,
    "",
    "plan:",
    table(list("plan"), ["action", "target", "reason"]),
    ...(dryRun ? [] : ["", "executed:", table(list("executed"), ["action", "target", "outcome"])]),
    "",
    "skipped:",
    table(list("skipped"), ["action", "target", "why"]),
  ].join("\n");
  // A heal in which an action failed is not a success for a script.
  const failed = list("executed").some((e) => (e as { outcome?: unknown }).outcome === "failed");
  return { data: body, text, ...(failed ? { exitCode: EXIT.error } : {}) };
}

/** `overseer audit [--action a] [--actor x] [--target-kind k] [--since 1h|ISO] [--limit n]`. */
export async function auditCommand(ctx: CommandContext): Promise<CommandResult> {
  checkFlags(ctx.args, ["action", "actor", "target-kind", "since", "limit"]);
  const since = stringFlag(ctx.args, "since");
  const path = `/api/audit${query({
    action: stringFlag(ctx.args, "action"),
    actor: stringFlag(ctx.args, "actor"),
    targetKind: stringFlag(ctx.args, "target-kind"),
    since: since === undefined ? undefined : parseSince(since, ctx.now()),
    limit: stringFlag(ctx.args, "limit"),
  })}`;
  const body = await request(ctx.target, "GET", path);
  const entries = listOf(body, "entries");
  return { data: body, text: table(entries, ["at", "actor", "action", "targetKind", "targetId", "reason"]) };
}
