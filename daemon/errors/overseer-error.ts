import { ERROR_CODES, type ErrorCode } from "../../contract/errors.ts";

/** An error with a stable code; the API turns it into `{error: {code, message, details?}}` with the code's status. */
export class OverseerError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message ?? ERROR_CODES[code].message);
    this.name = "OverseerError";
    this.status = ERROR_CODES[code].status;
  }
}

/** True when `error` is an OverseerError with this code. */
export function isOverseerError(error: unknown, code?: ErrorCode): error is OverseerError {
  return error instanceof OverseerError && (code === undefined || error.code === code);
}
