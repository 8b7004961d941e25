import type { ParsedArgs } from "./args.ts";
import type { CliTarget } from "./cli-http.ts";

/** What a command gets: its arguments, the daemon, and the terminal (injected, so tests need none). */
export interface CommandContext {
  args: ParsedArgs;
  target: CliTarget;
  json: boolean;
  /** Writes a line to stdout. */
  out(text: string): void;
  /** Writes a line to stderr (prompts, progress, notes that must not pollute --json output). */
  err(text: string): void;
  /** Whether stdin and stdout are a terminal a person can answer on. */
  interactive: boolean;
  /** Asks a question on the terminal and resolves with the answer. */
  ask(question: string): Promise<string>;
  now(): number;
  /** Resolves when the user interrupts (Ctrl-C); long-running commands end cleanly on it. */
  interrupted: Promise<void>;
}

/** What a command produced: the JSON for --json, and the text for people. */
export interface CommandResult {
  data: unknown;
  text: string;
  /** Set when the output was printed but the command did not fully succeed (default 0). */
  exitCode?: number;
}
