import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ERROR_CODES, type ErrorCode } from "../contract/errors.ts";
import { OverseerError } from "../daemon/errors/overseer-error.ts";

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "OVS_ERR_MALFORMED_JSON",
  FST_ERR_CTP_EMPTY_JSON_BODY: "OVS_ERR_MALFORMED_JSON",
  FST_ERR_CTP_BODY_TOO_LARGE: "OVS_ERR_BODY_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "OVS_ERR_UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "OVS_ERR_VALIDATION",
  FST_ERR_VALIDATION: "OVS_ERR_VALIDATION",
  FST_ERR_BAD_URL: "OVS_ERR_VALIDATION",
};

const DEPENDENCY_ERRORS =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|Connection terminated|connect ETIMEDOUT|the database system is (starting|shutting) up|MaxRetriesPerRequest/i;

/** Maps any error to `{error: {code, message, details?}}`; only our own faults are 5xx. */
export function toErrorBody(error: unknown): {
  status: number;
  body: { error: { code: ErrorCode; message: string; details?: unknown } };
} {
  if (error instanceof OverseerError) {
    const body: { code: ErrorCode; message: string; details?: unknown } = {
      code: error.code,
      message: error.message,
    };
    if (error.details) body.details = error.details;
    return { status: error.status, body: { error: body } };
  }
  const fe = error as FastifyError & { validation?: unknown[]; validationContext?: string };
  if (fe?.validation) {
    return {
      status: 400,
      body: {
        error: {
          code: "OVS_ERR_VALIDATION",
          message: fe.message,
          details: { context: fe.validationContext },
        },
      },
    };
  }
  const mapped = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped)
    return { status: ERROR_CODES[mapped].status, body: { error: { code: mapped, message: fe.message } } };
  if (error instanceof SyntaxError) {
    return { status: 400, body: { error: { code: "OVS_ERR_MALFORMED_JSON", message: error.message } } };
  }
  // Postgres "data exception" (SQLSTATE class 22: NUL characters, invalid JSON text, out-of-range
  // numbers): every value we store comes from the request, so this is the caller's bad input.
  const sqlState = (error as { code?: unknown })?.code;
  if (typeof sqlState === "string" && /^22[0-9A-Z]{3}$/.test(sqlState)) {
    return {
      status: 400,
      body: {
        error: {
          code: "OVS_ERR_VALIDATION",
          message:
            "a value in the request cannot be stored (e.g. a NUL character or invalid Unicode in a string)",
        },
      },
    };
  }
  if (typeof fe?.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Keep status and code in step with the registry.
    const code: ErrorCode =
      fe.statusCode === 404
        ? "OVS_ERR_ROUTE_NOT_FOUND"
        : fe.statusCode === 413
          ? "OVS_ERR_BODY_TOO_LARGE"
          : fe.statusCode === 415
            ? "OVS_ERR_UNSUPPORTED_MEDIA_TYPE"
            : "OVS_ERR_VALIDATION";
    return { status: ERROR_CODES[code].status, body: { error: { code, message: fe.message } } };
  }
  const text = `${fe?.code ?? ""} ${fe?.message ?? ""}`;
  if (DEPENDENCY_ERRORS.test(text)) {
    return {
      status: 503,
      body: {
        error: {
          code: "OVS_ERR_DEPENDENCY_UNAVAILABLE",
          message: ERROR_CODES.OVS_ERR_DEPENDENCY_UNAVAILABLE.message,
        },
      },
    };
  }
  return {
    status: 500,
    body: { error: { code: "OVS_ERR_INTERNAL", message: ERROR_CODES.OVS_ERR_INTERNAL.message } },
  };
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toErrorBody(error);
  if (status >= 500) request.log.error({ err: error }, "request failed");
  else request.log.debug({ code: body.error.code }, "request rejected");
  void reply.code(status).send(body);
}
