#!/usr/bin/env node
import { createInterface } from "node:readline/promises";
import { isEntryPoint } from "../../contract/entry-point.ts";
import { parseArgs, stringFlag } from "./args.ts";
import type { CommandContext, CommandResult } from "./command-context.ts";
import { CliError, EXIT, type ExitCode } from "./exit-codes.ts";
import { kpisCommand, successRateCommand } from "./figure-commands.ts";
import { overrideCommand } from "./override-command.ts";
import { agentsCommand, healCommand, runsCommand, statusCommand } from "./read-commands.ts";
import { tailCommand } from "./tail-command.ts";
import {
  auditCommand,
  cancelCommand,
  llmCallsCommand,
  priorityCommand,
  tasksCommand,
} from "./task-commands.ts";

const USAGE = `overseer: the operator CLI of the Overseer daemon (docs/cli.md)

usage: overseer <command> [options]

commands:
  status                                  system health: components, score, active overrides
  agents [--role r] [--state s]           registered agents
  tasks [--type t] [--state s] | tasks <id>   task queues, or one task
  tasks list [--state s] [--type t] [--agent id] [--run id] [--since t] [--until t]
             [--limit n] [--before c | --all]   tasks, newest first (docs/paging.md)
  cancel <taskId> [--reason r]            cancel a queued or running task (its agent is told)
  priority <taskId> <0..1000> [--reason r]   a queued task's new priority
  llm-calls <runId> [--limit n] [--before c | --all]   a pipeline run's LLM calls
  runs [--state s] [--template t] [--limit n] pipeline runs
  heal [--strategy conservative|smart|aggressive] [--dry-run]   auto-heal now (or only plan)
  override <stop_all_tasks|restart_all_agents|clear_task_queue|system_maintenance>
           --reason r [--expires 10m] [--yes]   dry run, confirm, execute
  override undo <id> --reason r           undo an override
  override list                           overrides, newest first
  audit [--action a] [--actor x] [--target-kind k] [--since 1h|ISO] [--limit n] [--before c | --all]
  kpis [--range 7days|30days|90days|all]  the KPI figures (docs/figures.md) of a period ending now
  success-rate                            the attempt success rate over 5m, 1h, 24h and 7d
  tail [--feed dashboard|agents|tasks|coordination|system] [--count n] [--for 30s]
                                          live events, progress bars for running pipelines

options (every command):
  --url URL       daemon base URL (env OVERSEER_URL; default http://127.0.0.1:8080)
  --token TOKEN   bearer token (env OVERSEER_TOKEN); viewer reads, operator heals, admin overrides
  --json          machine-readable output on stdout; errors as {"error":{code,message}} on stderr
  -h, --help      this text

exit codes: 0 ok · 1 error · 2 usage · 3 refused or conflict · 4 unreachable · 5 unauthorized · 6 not found
`;

const COMMANDS: Record<string, (ctx: CommandContext) => Promise<CommandResult>> = {
  status: statusCommand,
  agents: agentsCommand,
  tasks: tasksCommand,
  runs: runsCommand,
  heal: healCommand,
  override: overrideCommand,
  audit: auditCommand,
  tail: tailCommand,
  cancel: cancelCommand,
  priority: priorityCommand,
  "llm-calls": llmCallsCommand,
  kpis: kpisCommand,
  "success-rate": successRateCommand,
};

/** Runs one command line; returns the exit code (the process entry point exits with it). */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv): Promise<ExitCode> {
  let json = argv.includes("--json");
  try {
    const args = parseArgs(argv);
    json = args.flags.json === true;
    const name = args.positionals[0];
    if (args.flags.help === true || name === "help" || name === undefined) {
      process.stdout.write(USAGE);
      return name === undefined && args.flags.help !== true ? EXIT.usage : EXIT.ok;
    }
    const command = COMMANDS[name];
    if (!command) throw new CliError(EXIT.usage, `unknown command "${name}"; see overseer --help`);
    const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
    const interrupted = new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
    const ctx: CommandContext = {
      args,
      target: {
        url: stringFlag(args, "url") ?? env.OVERSEER_URL ?? "http://127.0.0.1:8080",
        token: stringFlag(args, "token") ?? env.OVERSEER_TOKEN,
        timeoutMs: 15_000,
      },
      json,
      out: (text) => process.stdout.write(`${text}\n`),
      err: (text) => process.stderr.write(`${text}\n`),
      interactive,
      ask: async (question) => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          return await rl.question(question);
        } finally {
          rl.close();
        }
      },
      now: Date.now,
      interrupted,
    };
    const result = await command(ctx);
    if (json) {
      if (result.data !== null) process.stdout.write(`${JSON.stringify(result.data, null, 2)}\n`);
    } else if (result.text) process.stdout.write(`${result.text}\n`);
    return (result.exitCode as typeof EXIT.ok | undefined) ?? EXIT.ok;
  } catch (error) {
    const e =
      error instanceof CliError
        ? error
        : new CliError(EXIT.error, (error as Error)?.message ?? String(error));
    process.stderr.write(json ? `${JSON.stringify(e.body)}\n` : `overseer: ${e.message}\n`);
    return e.code;
  }
}

/** The process entry: runs the command line and exits with its code. */
export async function main(): Promise<void> {
  process.exitCode = await runCli(process.argv.slice(2), process.env);
  // Nothing left to wait for once the command is done (an open feed socket, a stdin listener).
  setImmediate(() => process.exit(process.exitCode));
}

// The package bin runs the compiled dist/sdk/cli/main.js; in a checkout, `node --import tsx sdk/cli/main.ts <command>`.
if (isEntryPoint(import.meta.url)) await main();
