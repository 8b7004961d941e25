import { readdirSync, readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import type { TSchema } from "typebox";
import { describe, expect, it } from "vitest";
import { closed } from "../../api/response-check.ts";
import { ERROR_CODES, ErrorBody } from "../../contract/errors.ts";
import { errorStatuses, type RouteContract } from "../../contract/route.ts";
import { ROUTE_CONTRACTS } from "../../contract/routes/index.ts";

/**
 * Docs that run (issue 15): every JSON example in docs/*.md is checked against the contract.
 *
 * The convention (docs/architecture.md "The contract"): a fenced `json` block is preceded by one
 * marker line saying what it is:
 *
 * - `<!-- example: POST /api/tasks request -->`: the body of that route (the contract's path, with
 *   `:name` parameters), checked against its body schema;
 * - `<!-- example: POST /api/tasks 202 -->`: an answer of that route with that status, checked
 *   against the route's reply schema for the status, or the error body for one of its error statuses
 *   (whose `code` must be a registry code of that status);
 * - `<!-- example: error 409 -->`: an error body of that status, whatever the route;
 * - `<!-- example: not-http <what it is> -->`: a JSON block that is no HTTP body (a file's
 *   content, a task payload): only parsed.
 *
 * Every `json` block must carry a marker, so a new example cannot slip by unchecked. Objects are
 * checked closed, as the daemon's own response check does: a field the contract does not declare
 * is a mismatch. websocket.md is left out: its blocks are feed messages, not HTTP bodies.
 */
const DOCS = new URL("../../docs/", import.meta.url);
const SKIP = new Set(["websocket.md"]);

interface Example {
  file: string;
  line: number;
  marker: string;
  json: string;
}

const MARKER = /^\s*<!--\s*example:\s*(.+?)\s*-->\s*$/;

/** Every fenced `json` block of a markdown text, with the marker line above it (if any). */
function examplesIn(file: string, markdown: string): Array<Example & { marked: boolean }> {
  const lines = markdown.split("\n");
  const out: Array<Example & { marked: boolean }> = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```json\s*$/.exec(lines[i] as string);
    if (!open) continue;
    const indent = open[1]?.length ?? 0;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end] as string)) end++;
    const json = lines
      .slice(i + 1, end)
      .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
      .join("\n");
    let m = i - 1;
    while (m >= 0 && (lines[m] as string).trim() === "") m--;
    const marker = m >= 0 ? MARKER.exec(lines[m] as string)?.[1] : undefined;
    out.push({ file, line: i + 1, marker: marker ?? "", json, marked: marker !== undefined });
    i = end;
  }
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats.default(ajv);
const compiled = new WeakMap<object, ValidateFunction>();
function validator(schema: TSchema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(closed(JSON.parse(JSON.stringify(schema))) as object);
    compiled.set(schema, v);
  }
  return v;
}

function routeOf(method: string, url: string): RouteContract | undefined {
  return ROUTE_CONTRACTS.find((r) => r.method === method && r.url === url);
}

/** The problems of one marked example: empty when it matches the contract. */
function checkExample(marker: string, value: unknown): string[] {
  const words = marker.split(/\s+/);
  if (words[0] === "not-http") return [];
  const errorBody = (status: number): string[] => {
    const v = validator(ErrorBody);
    if (!v(value)) return [`not an error body: ${ajv.errorsText(v.errors)}`];
    const code = (value as { error: { code: string } }).error.code as keyof typeof ERROR_CODES;
    const registered = ERROR_CODES[code];
    if (!registered) return [`unknown error code ${code}`];
    return registered.status === status ? [] : [`${code} is a ${registered.status}, not a ${status}`];
  };
  if (words[0] === "error") return errorBody(Number(words[1]));
  const [method, url, what] = words as [string, string, string];
  const route = routeOf(method, url);
  if (!route) return [`no route ${method} ${url} in the contract`];
  if (what === "request") {
    if (!route.body) return [`${method} ${url} takes no body`];
    const v = validator(route.body);
    return v(value) ? [] : [`request: ${ajv.errorsText(v.errors)}`];
  }
  const status = Number(what);
  const reply = route.replies[status];
  if (reply) {
    const v = validator(reply);
    return v(value) ? [] : [`${status}: ${ajv.errorsText(v.errors)}`];
  }
  if ((errorStatuses(route) as number[]).includes(status)) return errorBody(status);
  return [`${method} ${url} never answers ${status}`];
}

const files = readdirSync(DOCS).filter((f) => f.endsWith(".md") && !SKIP.has(f));
const examples = files.flatMap((f) => examplesIn(f, readFileSync(new URL(f, DOCS), "utf8")));

describe("examples in docs/*.md match the contract", () => {
  it("every json block carries an example marker", () => {
    const unmarked = examples.filter((e) => !e.marked).map((e) => `${e.file}:${e.line}`);
    expect(unmarked, "add <!-- example: METHOD /path request|STATUS --> (or not-http) above each").toEqual(
      [],
    );
  });

  it("every marked example is valid JSON and matches its route's schema", () => {
    const problems: string[] = [];
    let requests = 0;
    let answers = 0;
    let other = 0;
    for (const e of examples.filter((x) => x.marked)) {
      let value: unknown;
      try {
        value = JSON.parse(e.json);
      } catch (error) {
        problems.push(`${e.file}:${e.line} (${e.marker}): not JSON: ${(error as Error).message}`);
        continue;
      }
      for (const p of checkExample(e.marker, value)) problems.push(`${e.file}:${e.line} (${e.marker}): ${p}`);
      if (e.marker.endsWith(" request")) requests++;
      else if (e.marker.startsWith("not-http")) other++;
      else answers++;
    }
    expect(problems).toEqual([]);
    console.log(
      `docs examples: ${requests + answers} checked against the contract (${requests} requests, ${answers} answers) in ${new Set(examples.map((e) => e.file)).size} files; ${other} not-http blocks parsed`,
    );
    expect(requests + answers).toBeGreaterThan(10);
  });

  it("the checker itself: a wrong field, an undeclared field and a wrong status are caught", () => {
    expect(checkExample("POST /api/tasks request", { type: "x", payload: {} })).toEqual([]);
    expect(checkExample("POST /api/tasks request", { type: "x", payload: {}, priority: "high" })).not.toEqual(
      [],
    );
    expect(checkExample("POST /api/tasks request", { type: "x", payload: {}, colour: 1 })).not.toEqual([]);
    expect(
      checkExample("POST /api/tasks/:id/complete 409", {
        error: { code: "OVS_ERR_LEASE_CONFLICT", message: "m" },
      }),
    ).toEqual([]);
    expect(
      checkExample("POST /api/tasks/:id/complete 409", {
        error: { code: "OVS_ERR_FORBIDDEN", message: "m" },
      }),
    ).not.toEqual([]);
    expect(checkExample("POST /api/nowhere request", {})).not.toEqual([]);
  });
});
