import { CliError, EXIT } from "./exit-codes.ts";

/** A parsed command line: positional words and `--flag value` / `--flag` options. */
export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | true>;
}

/** Flags that take no value. */
const BOOLEAN_FLAGS = new Set(["json", "yes", "dry-run", "help", "no-color", "all"]);

/** Splits argv into positionals and flags (`--a b`, `--a=b`, `-h`, `-y`); `--` ends the flags. */
export function parseArgs(argv: string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-h") flags.help = true;
    else if (arg === "-y") flags.yes = true;
    else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) flags[name] = arg.slice(eq + 1);
      else if (BOOLEAN_FLAGS.has(name)) flags[name] = true;
      else {
        const value = argv[i + 1];
        if (value === undefined || value.startsWith("--")) {
          throw new CliError(EXIT.usage, `--${name} needs a value`);
        }
        flags[name] = value;
        i++;
      }
    } else positionals.push(arg);
  }
  return { positionals, flags };
}

/** A string flag's value, or undefined; a bare `--name` where a value is needed is a usage error. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  if (v === true) throw new CliError(EXIT.usage, `--${name} needs a value`);
  return v;
}

/** Rejects flags the command does not know, so a typo is not silently ignored. */
export function checkFlags(args: ParsedArgs, allowed: string[]): void {
  const known = new Set([...allowed, "json", "help", "url", "token", "no-color"]);
  const unknown = Object.keys(args.flags).filter((f) => !known.has(f));
  if (unknown.length > 0) throw new CliError(EXIT.usage, `unknown option --${unknown[0]}`);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `10m`, `2h`, `7d` or plain milliseconds to milliseconds; a usage error otherwise. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m)
    throw new CliError(
      EXIT.usage,
      `--${flag} ${JSON.stringify(text)}: use a duration like 30s, 10m, 2h or 7d`,
    );
  const ms = Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? "ms"] as number));
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new CliError(EXIT.usage, `--${flag} must be positive`);
  return ms;
}

/** `--since`: an ISO time, or a duration meaning that long before `now`. */
export function parseSince(text: string, now: number): string {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (Number.isNaN(t))
      throw new CliError(EXIT.usage, `--since ${JSON.stringify(text)} is not a valid time`);
    return new Date(t).toISOString();
  }
  return new Date(now - parseDuration(text, "since")).toISOString();
}
