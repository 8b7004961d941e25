import { PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX } from "../contract/schemas/paging.ts";
import { OverseerError } from "../daemon/errors/overseer-error.ts";

/** A list's `limit` query text as a number: PAGE_LIMIT_DEFAULT when absent, a 400 above `max`. */
export function pageLimit(text: string | undefined, max = PAGE_LIMIT_MAX): number {
  const limit = Number(text ?? PAGE_LIMIT_DEFAULT);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > max) {
    throw new OverseerError("OVS_ERR_VALIDATION", `limit must be an integer from 1 to ${max}`, {
      field: "limit",
    });
  }
  return limit;
}

/** An ISO 8601 date-time with an offset (Date.parse also takes locale-dependent forms), else a 400. */
export function isoTime(text: string | undefined, field: string): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(text);
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text) ||
    Number.isNaN(d.getTime())
  ) {
    throw new OverseerError(
      "OVS_ERR_VALIDATION",
      `${field} must be an ISO 8601 date-time with an offset, e.g. 2026-01-31T12:00:00Z`,
      { field },
    );
  }
  return d;
}
