import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import SwaggerParser from "@apidevtools/swagger-parser";
import { createConfig, lint } from "@redocly/openapi-core";
import { beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "../../app/openapi-document.ts";
import { ROUTE_CONTRACTS } from "../../contract/routes/index.ts";

/**
 * The OpenAPI document a daemon serves at /docs/json (and docs/openapi.json, which agent authors
 * generate clients from): valid, complete, generated from the contract, committed without drift.
 */
type Operation = {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: unknown[];
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: object }> }>;
};
type Response = Operation["responses"][string];
let doc: {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, Response> };
};
let operations: Array<{ path: string; method: string; op: Operation }>;

beforeAll(async () => {
  doc = (await openApiDocument()) as typeof doc;
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  );
});

describe("OpenAPI document", () => {
  it("is valid OpenAPI 3.1 for @apidevtools/swagger-parser and has no redocly lint error", async () => {
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
    const config = await createConfig({ extends: ["recommended"] });
    // The committed file is linted: the last test checks it is exactly the generated document.
    const problems = await lint({
      ref: fileURLToPath(new URL("../../docs/openapi.json", import.meta.url)),
      config,
    });
    const errors = problems.filter((p) => p.severity === "error");
    const warnings = problems.filter((p) => p.severity === "warn");
    console.log(
      `openapi: ${operations.length} operations; swagger-parser valid; redocly ${errors.length} errors, ${warnings.length} warnings`,
    );
    expect(errors.map((e) => `${e.ruleId}: ${e.message} at ${e.location[0]?.pointer}`)).toEqual([]);
  });

  it("documents every contract route once, with an operationId, summary, tag and its security", () => {
    expect(operations.length).toBe(ROUTE_CONTRACTS.length);
    const ids = operations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, op } of operations) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z0-9]+$/);
      expect(op.summary, where).toBeTruthy();
      expect(op.tags?.length, where).toBe(1);
      expect(Array.isArray(op.security), where).toBe(true);
    }
    for (const path of ["/healthz", "/readyz", "/metrics"])
      expect(doc.paths[path]?.get?.security).toEqual([]);
  });

  it("gives every response a real schema, and lists 413, 415, 429 and 503 where a caller can get them", () => {
    let responses = 0;
    for (const { path, method, op } of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        responses++;
        const resolved = response.$ref
          ? doc.components.responses[response.$ref.replace("#/components/responses/", "")]
          : response;
        if (status === "204") continue;
        const schemas = Object.values(resolved?.content ?? {}).map((c) => c.schema);
        expect(schemas.length, `${method} ${path} ${status}`).toBeGreaterThan(0);
        for (const s of schemas)
          expect(Object.keys(s ?? {}).length, `${method} ${path} ${status}`).toBeGreaterThan(0);
      }
      const statuses = Object.keys(op.responses);
      expect(statuses, `${method} ${path}`).toContain("503");
      if (method === "post" || method === "put" || method === "patch") {
        expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(["413", "415"]));
      }
    }
    const limited = ROUTE_CONTRACTS.filter((r) => r.rateLimit === "control");
    for (const r of limited) {
      const path = r.url.replace(/:([A-Za-z]+)/g, "{$1}");
      expect(Object.keys(doc.paths[path]?.[r.method.toLowerCase()]?.responses ?? {})).toContain("429");
    }
    console.log(`openapi: ${responses} responses, every one with a schema`);
  });

  it("docs/openapi.json is the document the contract generates (npm run openapi)", () => {
    const committed = JSON.parse(readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8"));
    expect(committed).toEqual(JSON.parse(JSON.stringify(doc)));
  });
});
