import { Type } from "typebox";

/**
 * The one registry of API error codes. Each code keeps its meaning forever: a retired code is
 * marked `retired`, never reused. docs/errors.md is checked against this table by a test.
 */
export const ERROR_CODES = {
  OVS_ERR_VALIDATION: { status: 400, message: "The request does not match the schema" },
  OVS_ERR_MALFORMED_JSON: { status: 400, message: "The request body is not valid JSON" },
  OVS_ERR_UNAUTHENTICATED: { status: 401, message: "Missing or unknown bearer token" },
  OVS_ERR_FORBIDDEN: {
    status: 403,
    message: "The token's role may not do this, or the resource is another agent's",
  },
  OVS_ERR_ORIGIN_NOT_ALLOWED: {
    status: 403,
    message: "The WebSocket upgrade's Origin is not in OVERSEER_WS_ALLOWED_ORIGINS",
  },
  OVS_ERR_ROUTE_NOT_FOUND: { status: 404, message: "No such route" },
  OVS_ERR_AGENT_NOT_FOUND: {
    status: 404,
    message: "No live agent with this id (dead, left or never registered)",
  },
  OVS_ERR_TASK_NOT_FOUND: { status: 404, message: "No task with this id" },
  OVS_ERR_LEASE_CONFLICT: { status: 409, message: "The lease token is not the task's current lease" },
  OVS_ERR_TASK_STATE_CONFLICT: { status: 409, message: "The task is not in a state that allows this" },
  OVS_ERR_AGENT_UNSUITABLE: {
    status: 409,
    message:
      "The agent cannot take this task (not active, lacks the capability, or already holds it), or no agent can",
  },
  OVS_ERR_TEMPLATE_NOT_FOUND: { status: 404, message: "No pipeline template with this name (or version)" },
  OVS_ERR_TEMPLATE_INVALID: { status: 400, message: "The pipeline template is not valid" },
  OVS_ERR_TEMPLATE_BUILTIN: { status: 409, message: "Built-in templates cannot be replaced over the API" },
  OVS_ERR_RUN_NOT_FOUND: { status: 404, message: "No pipeline run with this id" },
  OVS_ERR_RUN_STATE_CONFLICT: {
    status: 409,
    message: "The run (or step) is not in a state that allows this action",
  },
  OVS_ERR_STEP_NOT_FOUND: { status: 404, message: "The run's template has no step with this id" },
  OVS_ERR_ARTIFACT_NOT_FOUND: { status: 404, message: "No artifact with this id" },
  OVS_ERR_CONVERSATION_NOT_FOUND: { status: 404, message: "No conversation with this id" },
  OVS_ERR_CONVERSATION_CLOSED: { status: 409, message: "The conversation is already completed" },
  OVS_ERR_BUDGET_NOT_FOUND: { status: 404, message: "No budget with this id" },
  OVS_ERR_BUDGET_CONFLICT: {
    status: 409,
    message: "A budget for this scope, target and period already exists",
  },
  OVS_ERR_FEEDBACK_TARGET_NOT_FOUND: {
    status: 404,
    message: "The run, step or LLM call being rated does not exist",
  },
  OVS_ERR_CONFIRMATION_INVALID: {
    status: 409,
    message:
      "The confirmation token is unknown, used, expired, or was issued for another action, parameters or actor",
  },
  OVS_ERR_OVERRIDE_NOT_FOUND: { status: 404, message: "No emergency override with this id" },
  OVS_ERR_OVERRIDE_STATE_CONFLICT: {
    status: 409,
    message:
      "The override is not active (already ended, or a one-shot action), or the same action is already active",
  },
  OVS_ERR_RATE_LIMITED: {
    status: 429,
    message: "Too many control requests from this token; wait for Retry-After seconds",
  },
  OVS_ERR_TOO_MANY_HEAVY_READS: {
    status: 429,
    message:
      "Too many heavy reads (exports) running for this token, or in all; retry after Retry-After seconds",
  },
  OVS_ERR_TOO_MANY_FEEDS: {
    status: 429,
    message:
      "Too many feed connections for this token, or in all; close one or retry after Retry-After seconds",
  },
  OVS_ERR_MAINTENANCE: {
    status: 503,
    message:
      "The system is in maintenance (an emergency override): no new work is accepted; reads still work",
  },
  OVS_ERR_SCHEDULE_NOT_FOUND: { status: 404, message: "No schedule with this id" },
  OVS_ERR_SCHEDULE_INVALID: {
    status: 400,
    message: "The schedule is not valid (cron expression, time zone or time)",
  },
  OVS_ERR_SCHEDULE_CONFLICT: { status: 409, message: "A schedule with this name already exists" },
  OVS_ERR_SCHEDULE_STATE_CONFLICT: {
    status: 409,
    message: "The schedule is not in a state that allows this (a one-off that already fired)",
  },
  OVS_ERR_BODY_TOO_LARGE: { status: 413, message: "The request body is larger than the limit" },
  OVS_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "Send the body as application/json" },
  OVS_ERR_DEPENDENCY_UNAVAILABLE: { status: 503, message: "Redis or Postgres is not reachable; retry later" },
  OVS_ERR_SHUTTING_DOWN: { status: 503, message: "The daemon is draining; retry on another replica" },
  OVS_ERR_INTERNAL: { status: 500, message: "Unexpected error; it was logged" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The body of every error answer. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String({ description: `one of ${Object.keys(ERROR_CODES).join(", ")}` }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  }),
});

/** What an error answer of `status` means, naming the codes it can carry (the OpenAPI document's words). */
export function errorDescription(status: number): string {
  const codes = Object.entries(ERROR_CODES)
    .filter(([, e]) => e.status === status)
    .map(([code, e]) => `${code} (${e.message})`);
  return codes.length > 0 ? `One of: ${codes.join("; ")}.` : "An error.";
}
