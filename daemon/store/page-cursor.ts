import { OverseerError } from "../errors/overseer-error.ts";

/**
 * The opaque `before` cursor of keyset-paged lists ordered by (a timestamp, an id), newest first:
 * the last row's key, base64url. The timestamp travels as Postgres's own text (`col::text`), so it
 * keeps microseconds: a JS Date would round them to milliseconds, and rows created in the same
 * millisecond would then be skipped or repeated at a page boundary.
 */
export interface TimeKey {
  at: string;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// What `timestamptz::text` prints, e.g. 2026-12-07 03:30:05.123456+00.
const PG_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;

export function encodeTimeKey(key: TimeKey): string {
  return Buffer.from(`${key.at}|${key.id}`, "utf8").toString("base64url");
}

/** The key a `before` cursor names; a 400 for anything this daemon did not hand out. */
export function decodeTimeKey(cursor: string): TimeKey {
  const text = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, "base64url").toString("utf8") : "";
  const [at, id, extra] = text.split("|");
  if (extra !== undefined || !at || !id || !PG_TIME.test(at) || !UUID.test(id)) {
    throw new OverseerError(
      "OVS_ERR_VALIDATION",
      "before is not a cursor this list handed out (nextBefore)",
      {
        field: "before",
      },
    );
  }
  return { at, id };
}
