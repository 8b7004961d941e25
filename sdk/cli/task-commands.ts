import { checkFlags, parseSince, stringFlag } from "./args.ts";
import { type ApiBody, listOf, request } from "./cli-http.ts";
import type { CommandContext, CommandResult } from "./command-context.ts";
import { CliError, EXIT } from "./exit-codes.ts";
import { tasksCommand as queuesOrOneTask } from "./read-commands.ts";
import { table } from "./render.ts";

/** The paging flags every list command takes (docs/paging.md): one page, the next, or all of them. */
const PAGE_FLAGS = ["limit", "before", "all"];
/** `--all` stops after this many pages rather than loop on a daemon that never says null. */
const MAX_PAGES = 10_000;

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/**
 * Reads a paged list: one page (`--before` continues an earlier one), or with `--all` every page,
 * following nextBefore until it is null. Answers the list under `key` with the first page's total.
 */
async function readPages(
  ctx: CommandContext,
  path: string,
  params: Record<string, string | undefined>,
  key: string,
): Promise<{ rows: Array<Record<string, unknown>>; total: number | null; nextBefore: string | null }> {
  const all = ctx.args.flags.all === true;
  const rows: Array<Record<string, unknown>> = [];
  let before = stringFlag(ctx.args, "before");
  let total: number | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = await request<ApiBody>(
      ctx.target,
      "GET",
      `${path}${query({ ...params, limit: stringFlag(ctx.args, "limit"), before })}`,
    );
    rows.push(...listOf(body, key));
    if (total === null && typeof body.total === "number") total = body.total;
    const next = typeof body.nextBefore === "string" ? body.nextBefore : null;
    if (!all || next === null) return { rows, total, nextBefore: next };
    before = next;
  }
  throw new CliError(EXIT.error, `${path}: more than ${MAX_PAGES} pages; narrow the filters`);
}

/** The text under a page: how many of how many, and how to continue. */
function pageFooter(shown: number, total: number | null, nextBefore: string | null): string {
  const of = total === null ? `${shown}` : `${shown} of ${total}`;
  return nextBefore ? `(${of}; next page: --before ${nextBefore}, or --all)` : `(${of})`;
}

function time(flag: string, ctx: CommandContext): string | undefined {
  const text = stringFlag(ctx.args, flag);
  return text === undefined ? undefined : parseSince(text, ctx.now());
}

/** `overseer audit [--action a] [--actor x] [--target-kind k] [--since 1h|ISO] [--limit n] [--before c | --all]`. */
export async function auditCommand(ctx: CommandContext): Promise<CommandResult> {
  checkFlags(ctx.args, ["action", "actor", "target-kind", "since", ...PAGE_FLAGS]);
  const { rows, total, nextBefore } = await readPages(
    ctx,
    "/api/audit",
    {
      action: stringFlag(ctx.args, "action"),
      actor: stringFlag(ctx.args, "actor"),
      targetKind: stringFlag(ctx.args, "target-kind"),
      since: time("since", ctx),
    },
    "entries",
  );
  return {
    data: { entries: rows, total, nextBefore },
    text: `${table(rows, ["id", "at", "actor", "action", "targetKind", "targetId", "reason"])}\n${pageFooter(rows.length, total, nextBefore)}`,
  };
}

/**
 * `overseer tasks list [--state s] [--type t] [--agent id] [--run id] [--since t] [--until t]
 * [--limit n] [--before c | --all]`; `overseer tasks [--type t] [--state s]` (queues) and
 * `overseer tasks <id>` (one task) stay as they were.
 */
export async function tasksCommand(ctx: CommandContext): Promise<CommandResult> {
  if (ctx.args.positionals[1] !== "list") return queuesOrOneTask(ctx);
  checkFlags(ctx.args, ["state", "type", "agent", "run", "since", "until", ...PAGE_FLAGS]);
  const { rows, total, nextBefore } = await readPages(
    ctx,
    "/api/tasks",
    {
      state: stringFlag(ctx.args, "state"),
      type: stringFlag(ctx.args, "type"),
      agentId: stringFlag(ctx.args, "agent"),
      runId: stringFlag(ctx.args, "run"),
      createdAfter: time("since", ctx),
      createdBefore: time("until", ctx),
    },
    "tasks",
  );
  return {
    data: { tasks: rows, total, nextBefore },
    text: `${table(rows, ["id", "type", "state", "priority", "attempts", "leaseAgentId", "createdAt"])}\n${pageFooter(rows.length, total, nextBefore)}`,
  };
}

function taskIdArg(ctx: CommandContext, usage: string): string {
  const id = ctx.args.positionals[1];
  if (!id) throw new CliError(EXIT.usage, `usage: ${usage}`);
  return encodeURIComponent(id);
}

/** `overseer cancel <taskId> [--reason r]`: cancels a queued or running task (its agent is told). */
export async function cancelCommand(ctx: CommandContext): Promise<CommandResult> {
  checkFlags(ctx.args, ["reason"]);
  const id = taskIdArg(ctx, "overseer cancel <taskId> [--reason r]");
  const reason = stringFlag(ctx.args, "reason");
  const body = await request<ApiBody>(
    ctx.target,
    "POST",
    `/api/tasks/${id}/cancel`,
    reason ? { reason } : {},
  );
  const agent = typeof body.agentId === "string" ? `; agent ${body.agentId} told to stop` : "";
  return { data: body, text: `task ${body.taskId} cancelled (was ${body.from})${agent}` };
}

/** `overseer priority <taskId> <n> [--reason r]`: a queued task's new priority (0..1000, higher first). */
export async function priorityCommand(ctx: CommandContext): Promise<CommandResult> {
  checkFlags(ctx.args, ["reason"]);
  const usage = "overseer priority <taskId> <0..1000> [--reason r]";
  const id = taskIdArg(ctx, usage);
  const n = ctx.args.positionals[2];
  if (n === undefined || !/^\d{1,4}$/.test(n)) throw new CliError(EXIT.usage, `usage: ${usage}`);
  const reason = stringFlag(ctx.args, "reason");
  const body = await request<ApiBody>(ctx.target, "POST", `/api/tasks/${id}/priority`, {
    priority: Number(n),
    ...(reason ? { reason } : {}),
  });
  return { data: body, text: `task ${body.taskId}: priority ${body.priorityBefore} → ${body.priority}` };
}

/** `overseer llm-calls <runId> [--limit n] [--before c | --all]`: a pipeline run's LLM calls, newest first. */
export async function llmCallsCommand(ctx: CommandContext): Promise<CommandResult> {
  checkFlags(ctx.args, PAGE_FLAGS);
  const runId = taskIdArg(ctx, "overseer llm-calls <runId> [--limit n] [--before c | --all]");
  const { rows, total, nextBefore } = await readPages(
    ctx,
    `/api/pipelines/runs/${runId}/llm-calls`,
    {},
    "calls",
  );
  return {
    data: { calls: rows, total, nextBefore },
    text: `${table(rows, ["at", "stepId", "model", "status", "inputTokens", "outputTokens", "costUsd", "latencyMs"])}\n${pageFooter(rows.length, total, nextBefore)}`,
  };
}
