/**
 * The one registry of WebSocket close codes the feeds use (docs/websocket.md lists them). 1xxx are
 * the standard codes of RFC 6455; 4xxx are Overseer's own. A code keeps its meaning forever.
 */
export const CLOSE_CODES = {
  /** The daemon is shutting down: reconnect (to another replica) and resume from your last id. */
  GOING_AWAY: { code: 1001, reason: "server shutting down" },
  /** An incoming message larger than the limit (sent by the ws library itself). */
  MESSAGE_TOO_BIG: { code: 1009, reason: "message too big" },
  /** The snapshot or replay could not be read (Redis or Postgres unreachable): reconnect later. */
  INTERNAL_ERROR: { code: 1011, reason: "snapshot or replay failed" },
  /** The client did not read fast enough: its queue or send buffer hit the bound. Reconnect and resume. */
  SLOW_CONSUMER: { code: 4008, reason: "slow consumer" },
} as const;

export type CloseCodeName = keyof typeof CLOSE_CODES;

/** Why a replica dropped a client (the `reason` label of overseer_ws_clients_dropped_total). */
export type DropReason = "slow_consumer" | "ping_timeout" | "error" | "shutdown";

/** Why a replica refused a feed upgrade at its cap (the `reason` label of overseer_ws_clients_refused_total). */
export type RefuseReason = "token_cap" | "replica_cap";
