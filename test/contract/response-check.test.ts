import Fastify from "fastify";
import { Type } from "typebox";
import { describe, expect, it } from "vitest";
import { errorHandler } from "../../api/error-handler.ts";
import { installResponseCheck } from "../../api/response-check.ts";

/** OVERSEER_VALIDATE_RESPONSES: an answer that strays from its schema becomes a 500 naming the mismatch. */
async function appAnswering(payload: unknown) {
  const app = Fastify();
  app.setErrorHandler(errorHandler);
  installResponseCheck(app);
  app.get(
    "/thing",
    {
      schema: {
        response: {
          200: Type.Object({
            id: Type.String(),
            at: Type.String({ format: "date-time" }),
            note: Type.Optional(Type.Union([Type.String(), Type.Null()])),
            free: Type.Optional(Type.Unknown()),
          }),
        },
      },
    },
    async () => payload,
  );
  await app.ready();
  return app;
}

describe("response check", () => {
  it("passes an answer that matches, dates included as the wire carries them", async () => {
    const app = await appAnswering({ id: "a", at: new Date(0), note: null, free: { any: [1, "x"] } });
    const r = await app.inject("/thing");
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      id: "a",
      at: "1970-01-01T00:00:00.000Z",
      note: null,
      free: { any: [1, "x"] },
    });
  });

  it("refuses a field the contract does not declare (the serialiser would drop it silently)", async () => {
    const app = await appAnswering({ id: "a", at: "2026-01-01T00:00:00Z", extra: 1 });
    const r = await app.inject("/thing");
    expect(r.statusCode).toBe(500);
    expect(r.json().error.message).toMatch(
      /GET \/thing does not match its contract: .*additional properties/,
    );
  });

  it("refuses a missing field and a wrong type", async () => {
    const missing = await (await appAnswering({ at: "2026-01-01T00:00:00Z" })).inject("/thing");
    expect(missing.statusCode).toBe(500);
    expect(missing.json().error.message).toMatch(/must have required property 'id'/);
    const wrong = await (await appAnswering({ id: 1, at: "yesterday" })).inject("/thing");
    expect(wrong.statusCode).toBe(500);
    expect(wrong.json().error.message).toMatch(/must be string.*must match format "date-time"/);
  });
});
