import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OverseerDaemon } from "../../app/overseer-daemon.ts";
import { compileConfig } from "../../daemon/config/compile-config.ts";
import { createLogger } from "../../daemon/telemetry/logger.ts";
import { call } from "../helpers/api-client.ts";
import { dropNamespace } from "../helpers/namespace-cleanup.ts";
import { daemonEnv, freshNamespace, TOKENS } from "../helpers/test-env.ts";

/**
 * Tokens and secrets never reach the logs: the daemon logs at `trace` into a buffer while requests
 * carry every kind of token (headers, and the agent secret in a register body), including refused
 * and failing ones; none of the token strings may appear in what was written.
 */
const ns = freshNamespace();
const lines: string[] = [];
let daemon: OverseerDaemon;
let url = "";

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = compileConfig(daemonEnv(ns, { LOG_LEVEL: "trace" }));
  daemon = new OverseerDaemon({ config, logger: createLogger("trace", sink) });
  url = await daemon.start();
});
afterAll(async () => {
  await daemon?.stop();
  await dropNamespace(ns);
});

describe("logs", () => {
  it("never contain a token or secret, whatever the requests carry", async () => {
    const reg = await call(url, "POST", "/api/agents/register", {
      token: TOKENS.agentSecret,
      body: {
        name: "logged",
        role: "worker",
        capabilities: ["log.work"],
        agentSecret: TOKENS.agentSecret,
        token: TOKENS.admin,
      },
    });
    expect(reg.status, reg.text).toBe(201);
    const agentToken: string = reg.body.token;
    const bad = "bad-token-that-must-not-be-logged-42";
    const confirmation = await call(url, "POST", "/api/dashboard/system/emergency-override", {
      token: TOKENS.admin,
      body: { action: "stop_all_tasks", reason: "log test" },
    });
    expect(confirmation.status).toBe(200);
    const confirmationToken: string = confirmation.body.confirmationToken;
    const requests: Array<[string, string, string | undefined, unknown]> = [
      ["POST", `/api/agents/${reg.body.id}/heartbeat`, agentToken, {}],
      ["POST", `/api/agents/${reg.body.id}/claim`, agentToken, { max: 1 }],
      ["POST", "/api/agents/00000000-0000-4000-8000-000000000000/heartbeat", agentToken, {}],
      ["GET", "/api/dashboard/agents/status", TOKENS.viewer, undefined],
      ["POST", "/api/tasks", TOKENS.operator, { type: "log.work", payload: { secret: TOKENS.operator } }],
      ["POST", "/api/tasks", TOKENS.viewer, { type: "log.work", payload: {} }],
      ["GET", "/api/audit", TOKENS.admin, undefined],
      ["GET", "/api/audit?since=nonsense", TOKENS.admin, undefined],
      ["GET", "/api/dashboard/agents/status", bad, undefined],
      ["POST", "/api/agents/register", bad, { name: "x", agentSecret: TOKENS.agentSecret }],
      ["POST", "/api/agents/register", TOKENS.agentSecret, { name: 42 }],
      ["POST", "/api/tasks", TOKENS.operator, "{not json"],
      [
        "POST",
        "/api/dashboard/system/emergency-override",
        TOKENS.admin,
        { action: "stop_all_tasks", reason: "other", confirmationToken },
      ],
      [
        "POST",
        "/api/dashboard/system/emergency-override",
        TOKENS.admin,
        { action: "stop_all_tasks", reason: "log test", confirmationToken },
      ],
    ];
    for (const [method, path, token, body] of requests) {
      await call(url, method, path, typeof body === "string" ? { token, rawBody: body } : { token, body });
    }
    await new Promise((r) => setTimeout(r, 200));
    const text = lines.join("");
    expect(lines.length).toBeGreaterThan(5);
    // The capture holds the request-level lines (refusals are logged at debug), so a leak would show.
    expect(text).toContain("request rejected");
    const secrets = {
      admin: TOKENS.admin,
      operator: TOKENS.operator,
      viewer: TOKENS.viewer,
      agentSecret: TOKENS.agentSecret,
      agentToken,
      agentMac: agentToken.split(".")[2] as string,
      bad,
      confirmationToken,
    };
    const leaked = Object.entries(secrets)
      .filter(([, s]) => text.includes(s))
      .map(([k]) => k);
    console.log(
      `access: ${lines.length} log lines at trace level checked for ${Object.keys(secrets).length} secrets; leaked: ${leaked.length}`,
    );
    expect(leaked).toEqual([]);
  });
});
