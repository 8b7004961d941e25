/**
 * The WebSocket feed protocol: JSON text frames, one message each (docs/websocket.md).
 * Protocol version 1 is announced as the `overseer.v1` subprotocol.
 */
export const SUBPROTOCOL = "overseer.v1";
/** Browsers send their token as a second subprotocol `bearer.<token>` (never echoed back). */
export const BEARER_SUBPROTOCOL_PREFIX = "bearer.";

/** Client → server. */
export type ClientMessage =
  | { type: "subscribe"; id: string; filter: FeedFilter }
  | { type: "unsubscribe"; id: string };

/** Server → client. */
export type ServerMessage =
  | {
      type: "snapshot";
      feed: FeedName;
      /** Every event up to this id is reflected in `data`; deltas follow with larger ids. */
      lastEventId: string;
      data: Record<string, unknown>;
    }
  | { type: "event"; id: string; event: { type: string; at: number } & Record<string, unknown> }
  | { type: "resumed"; since: string; replayed: number }
  | { type: "reset"; reason: "too_old" | "unknown_id"; since: string }
  | { type: "subscribed"; id: string; filter: FeedFilter }
  | { type: "unsubscribed"; id: string }
  | {
      type: "error";
      code: "bad_message" | "too_many_subscriptions" | "unknown_subscription";
      message: string;
    };

export const MAX_SUBSCRIPTION_ID_LENGTH = 64;

/** The feeds a client can subscribe to; `dashboard` carries every topic. */
export const FEED_NAMES = ["agents", "coordination", "tasks", "system", "dashboard"] as const;
export type FeedName = (typeof FEED_NAMES)[number];

/** Filter keys, each naming the event field it matches. */
export const FILTER_KEYS = ["agentId", "role", "taskType", "runId"] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
/** Every key set must match (AND); a key with several values matches any of them (OR). */
export type FeedFilter = Partial<Record<FilterKey, string[]>>;

export const MAX_FILTER_VALUES = 100;
const MAX_VALUE_LENGTH = 200;

/**
 * Validates a filter from the wire: `{ agentId?: string | string[], role?, taskType?, runId? }`.
 * Returns the normalised filter or a problem.
 */
export function parseFilter(raw: unknown): { filter: FeedFilter } | { problem: string } {
  if (raw === undefined || raw === null) return { filter: {} };
  if (typeof raw !== "object" || Array.isArray(raw)) return { problem: "filter must be an object" };
  const filter: FeedFilter = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!(FILTER_KEYS as readonly string[]).includes(key)) {
      return { problem: `unknown filter key ${JSON.stringify(key)}: use ${FILTER_KEYS.join(", ")}` };
    }
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0 || values.length > MAX_FILTER_VALUES) {
      return { problem: `${key}: give 1 to ${MAX_FILTER_VALUES} values` };
    }
    for (const v of values) {
      if (typeof v !== "string" || v.length === 0 || v.length > MAX_VALUE_LENGTH) {
        return {
          problem: `${key}: values must be non-empty strings of at most ${MAX_VALUE_LENGTH} characters`,
        };
      }
    }
    filter[key as FilterKey] = values as string[];
  }
  return { filter };
}

/** The query parameter a reconnecting client names its last processed event id with. */
export const RESUME_PARAM = "lastEventId";
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/**
 * Validates a connect URL's query string: every parameter but `lastEventId` is a filter key and
 * goes through `parseFilter`, the same check as a `subscribe` message's filter, so `?colour=red`
 * is refused exactly as `{"filter":{"colour":"red"}}` is (rather than quietly streaming everything).
 */
export function parseConnectQuery(
  params: URLSearchParams,
): { filter: FeedFilter; since?: string } | { problem: string } {
  const raw: Record<string, string[]> = {};
  for (const key of new Set(params.keys())) {
    if (key === RESUME_PARAM) continue;
    raw[key] = params.getAll(key);
  }
  const parsed = parseFilter(raw);
  if ("problem" in parsed) return parsed;
  const since = params.getAll(RESUME_PARAM);
  if (since.length === 0) return { filter: parsed.filter };
  if (since.length > 1) return { problem: `${RESUME_PARAM}: give it once` };
  if (!STREAM_ID.test(since[0] as string)) {
    return { problem: `${RESUME_PARAM} must be an event id like 1732752000456-0` };
  }
  return { filter: parsed.filter, since: since[0] as string };
}

/** Parses one client frame; a problem becomes an `error` message to the client (the socket stays). */
export function parseClientMessage(text: string): ClientMessage | { problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { problem: "not JSON" };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { problem: "expected an object" };
  const msg = raw as Record<string, unknown>;
  const id = msg.id ?? "default";
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_SUBSCRIPTION_ID_LENGTH) {
    return { problem: `id must be a string of 1 to ${MAX_SUBSCRIPTION_ID_LENGTH} characters` };
  }
  if (msg.type === "unsubscribe") return { type: "unsubscribe", id };
  if (msg.type === "subscribe") {
    const parsed = parseFilter(msg.filter);
    if ("problem" in parsed) return parsed;
    return { type: "subscribe", id, filter: parsed.filter };
  }
  return { problem: 'type must be "subscribe" or "unsubscribe"' };
}
