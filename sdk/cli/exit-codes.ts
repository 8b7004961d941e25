/** Exit codes of the `overseer` command, for scripts (docs/cli.md). */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** The daemon answered with an error not listed below (a 5xx, a bad answer). */
  error: 1,
  /** Bad command line, or the daemon refused the input as invalid (400). */
  usage: 2,
  /** Refused: confirmation declined or impossible (no TTY, no --yes), or a conflict (409, 423, 503). */
  refused: 3,
  /** The daemon could not be reached (connection refused, DNS, timeout). */
  unreachable: 4,
  /** The token is missing, unknown (401) or lacks the role (403). */
  auth: 5,
  /** The thing named does not exist (404). */
  notFound: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code for an HTTP error status from the daemon. */
export function exitForStatus(status: number): ExitCode {
  if (status === 400 || status === 413 || status === 415) return EXIT.usage;
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 409 || status === 423 || status === 429 || status === 503) return EXIT.refused;
  return EXIT.error;
}

/** A failure that ends the command with `code`; `body` is printed as the JSON error under --json. */
export class CliError extends Error {
  constructor(
    readonly code: ExitCode,
    message: string,
    readonly body: { error: { code: string; message: string } } = {
      error: { code: "OVS_CLI_ERROR", message },
    },
  ) {
    super(message);
    this.name = "CliError";
  }
}
