import { errorCodes } from "fastify";
import { describe, expect, it } from "vitest";
import { toErrorBody } from "../../api/error-handler.ts";
import { ERROR_CODES, type ErrorCode } from "../../contract/errors.ts";
import { OverseerError } from "../../daemon/errors/overseer-error.ts";

/** The result agrees with the registry: the status is the code's status. */
function expectConsistent(result: ReturnType<typeof toErrorBody>): void {
  expect(Object.keys(ERROR_CODES)).toContain(result.body.error.code);
  expect(result.status).toBe(ERROR_CODES[result.body.error.code].status);
  expect(result.body.error.message).toBeTypeOf("string");
}

describe("toErrorBody", () => {
  it("an OverseerError keeps its code, status, message and details", () => {
    const r = toErrorBody(
      new OverseerError("OVS_ERR_TASK_STATE_CONFLICT", "task is active", { state: "active" }),
    );
    expect(r).toEqual({
      status: 409,
      body: {
        error: {
          code: "OVS_ERR_TASK_STATE_CONFLICT",
          message: "task is active",
          details: { state: "active" },
        },
      },
    });
  });

  it("an OverseerError without a message or details gets the registry message and no details key", () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const r = toErrorBody(new OverseerError(code));
      expect(r).toEqual({
        status: ERROR_CODES[code].status,
        body: { error: { code, message: ERROR_CODES[code].message } },
      });
      expect("details" in r.body.error).toBe(false);
    }
  });

  it("a schema validation error → 400 OVS_ERR_VALIDATION with the context", () => {
    const error = Object.assign(
      new errorCodes.FST_ERR_VALIDATION("body must have required property 'type'"),
      {
        validation: [
          { keyword: "required", instancePath: "", message: "must have required property 'type'" },
        ],
        validationContext: "body",
      },
    );
    const r = toErrorBody(error);
    expect(r).toEqual({
      status: 400,
      body: {
        error: {
          code: "OVS_ERR_VALIDATION",
          message: "body must have required property 'type'",
          details: { context: "body" },
        },
      },
    });
  });

  it.each([
    [
      "FST_ERR_CTP_BODY_TOO_LARGE",
      new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(),
      413,
      "OVS_ERR_BODY_TOO_LARGE",
    ],
    [
      "FST_ERR_CTP_INVALID_MEDIA_TYPE",
      new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE("text/xml"),
      415,
      "OVS_ERR_UNSUPPORTED_MEDIA_TYPE",
    ],
    [
      "FST_ERR_CTP_INVALID_JSON_BODY",
      new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(),
      400,
      "OVS_ERR_MALFORMED_JSON",
    ],
    [
      "FST_ERR_CTP_EMPTY_JSON_BODY",
      new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(),
      400,
      "OVS_ERR_MALFORMED_JSON",
    ],
    [
      "FST_ERR_CTP_INVALID_CONTENT_LENGTH",
      new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(),
      400,
      "OVS_ERR_VALIDATION",
    ],
  ] as const)("Fastify's %s → %d %s", (_name, error, status, code) => {
    const r = toErrorBody(error);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expectConsistent(r);
  });

  it("a bare SyntaxError (a body parser's) → 400 OVS_ERR_MALFORMED_JSON", () => {
    let syntax: unknown;
    try {
      JSON.parse('{"a":');
    } catch (error) {
      syntax = error;
    }
    const r = toErrorBody(syntax);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("OVS_ERR_MALFORMED_JSON");
  });

  it("an unmapped client error keeps its 4xx status as a validation error", () => {
    const r = toErrorBody(
      Object.assign(new Error("bad header"), { statusCode: 400, code: "FST_ERR_SOMETHING" }),
    );
    expect(r).toEqual({
      status: 400,
      body: { error: { code: "OVS_ERR_VALIDATION", message: "bad header" } },
    });
  });

  it("an unreachable Redis or Postgres → 503 OVS_ERR_DEPENDENCY_UNAVAILABLE, without the connection details", () => {
    for (const error of [
      Object.assign(new Error("connect ECONNREFUSED 10.0.0.5:5432"), { code: "ECONNREFUSED" }),
      Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }),
      new Error("Connection is closed."),
      new Error("Connection terminated unexpectedly"),
      new Error("the database system is starting up"),
      new Error("Reached the max retries per request limit (which is 20). MaxRetriesPerRequestError"),
    ]) {
      const r = toErrorBody(error);
      expect(r, error.message).toEqual({
        status: 503,
        body: {
          error: {
            code: "OVS_ERR_DEPENDENCY_UNAVAILABLE",
            message: ERROR_CODES.OVS_ERR_DEPENDENCY_UNAVAILABLE.message,
          },
        },
      });
      expect(JSON.stringify(r.body)).not.toContain("10.0.0.5");
    }
  });

  it("anything else → 500 OVS_ERR_INTERNAL with a generic message that leaks nothing", () => {
    const secret = "password=hunter2 at /srv/overseer/daemon/store/task-store.ts:64";
    for (const error of [
      new Error(secret),
      new TypeError(`Cannot read properties of undefined (${secret})`),
      new RangeError(`Maximum call stack size exceeded ${secret}`),
      Object.assign(new Error(secret), { statusCode: 502 }),
      secret,
      null,
      undefined,
      42,
      { message: secret },
    ]) {
      const r = toErrorBody(error);
      expect(r).toEqual({
        status: 500,
        body: { error: { code: "OVS_ERR_INTERNAL", message: ERROR_CODES.OVS_ERR_INTERNAL.message } },
      });
      expect(JSON.stringify(r.body)).not.toContain("hunter2");
    }
  });

  it("a Postgres data exception (SQLSTATE class 22) is the caller's bad input: 400, no leak", () => {
    const secret = "password=hunter2";
    const { status, body } = toErrorBody(Object.assign(new Error(secret), { code: "22P05" }));
    expect(status).toBe(400);
    expect(body.error.code).toBe("OVS_ERR_VALIDATION");
    expect(body.error.message).not.toContain(secret);
  });
});
