import { checkFlags, parseDuration, stringFlag } from "./args.ts";
import { listOf, request } from "./cli-http.ts";
import type { CommandContext, CommandResult } from "./command-context.ts";
import { CliError, EXIT } from "./exit-codes.ts";
import { table } from "./render.ts";

export const OVERRIDE_ACTIONS = [
  "stop_all_tasks",
  "restart_all_agents",
  "clear_task_queue",
  "system_maintenance",
];

function requireReason(ctx: CommandContext): string {
  const reason = stringFlag(ctx.args, "reason");
  if (!reason?.trim())
    throw new CliError(EXIT.usage, "--reason is required: say why, it goes to the audit log");
  return reason;
}

/**
 * `overseer override <action> --reason r [--expires 10m] [--yes]`, `override undo <id> --reason r`,
 * `override list`. An override runs in two steps: the dry run shows its impact, then the
 * confirmation token executes it, after a person said yes on the terminal (or --yes).
 */
export async function overrideCommand(ctx: CommandContext): Promise<CommandResult> {
  const sub = ctx.args.positionals[1];
  if (sub === "list") {
    checkFlags(ctx.args, []);
    const body = await request(ctx.target, "GET", "/api/dashboard/system/overrides");
    const rows = listOf(body, "overrides");
    return {
      data: body,
      text: table(rows, ["id", "action", "state", "actor", "startedAt", "expiresAt", "reason"]),
    };
  }
  if (sub === "undo") {
    checkFlags(ctx.args, ["reason"]);
    const id = ctx.args.positionals[2];
    if (!id) throw new CliError(EXIT.usage, "usage: overseer override undo <id> --reason <text>");
    const reason = requireReason(ctx);
    const body = await request(
      ctx.target,
      "POST",
      `/api/dashboard/system/overrides/${encodeURIComponent(id)}/undo`,
      { reason },
    );
    return {
      data: body,
      text: `override ${id} is ${(body?.override as { state?: string } | undefined)?.state ?? "undone"}`,
    };
  }
  checkFlags(ctx.args, ["reason", "expires", "yes"]);
  if (!sub || !OVERRIDE_ACTIONS.includes(sub)) {
    throw new CliError(EXIT.usage, `usage: overseer override <${OVERRIDE_ACTIONS.join("|")}|undo|list> ...`);
  }
  const reason = requireReason(ctx);
  const expires = stringFlag(ctx.args, "expires");
  const request1 = {
    action: sub,
    reason,
    ...(expires === undefined ? {} : { expiresInMs: parseDuration(expires, "expires") }),
  };
  const dry = await request(ctx.target, "POST", "/api/dashboard/system/emergency-override", request1);
  const impact = JSON.stringify(dry?.impact ?? {}, null, 2);
  // The impact always goes to the person (stderr under --json, so stdout stays one JSON document).
  const show = ctx.json ? ctx.err : ctx.out;
  show(`dry run of ${sub}: impact\n${impact}`);
  if (ctx.args.flags.yes !== true) {
    if (!ctx.interactive) {
      throw new CliError(EXIT.refused, "refusing: no terminal to confirm on; pass --yes to execute", {
        error: { code: "OVS_CLI_NOT_CONFIRMED", message: "no terminal to confirm on and no --yes" },
      });
    }
    const answer = (await ctx.ask(`Execute ${sub}? Type "yes" to proceed: `)).trim().toLowerCase();
    if (answer !== "yes" && answer !== "y") {
      throw new CliError(EXIT.refused, "not confirmed: nothing was done", {
        error: { code: "OVS_CLI_NOT_CONFIRMED", message: "the confirmation was declined" },
      });
    }
  }
  if (typeof dry?.confirmationToken !== "string") {
    throw new CliError(EXIT.error, "the dry run returned no confirmation token; nothing was done");
  }
  const done = await request(ctx.target, "POST", "/api/dashboard/system/emergency-override", {
    ...request1,
    confirmationToken: dry?.confirmationToken,
  });
  const o = (done?.override ?? {}) as {
    id?: string;
    action?: string;
    state?: string;
    expiresAt?: string | null;
  };
  return {
    data: done,
    text: `override ${o.id} ${o.action} is ${o.state}${o.expiresAt ? ` until ${o.expiresAt}` : ""}; undo with: overseer override undo ${o.id} --reason "..."`,
  };
}
