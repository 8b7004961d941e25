import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify from "fastify";
import type { Static } from "typebox";
import { describe, expect, it } from "vitest";
import { routeOptions } from "../../api/route-options.ts";
import { RECOVERY_ROUTES as R } from "../../contract/routes/recovery.ts";
import type { HealReport, ManagedAgentsReply, RestartOutcome } from "../../contract/schemas/recovery.ts";

// The recovery routes' answers through Fastify's serializer (fast-json-stringify drops whatever the
// schema does not name): every field the handlers send must reach the client.

const AGENT = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c";
const TASK = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

async function served(
  route: (typeof R)[keyof typeof R],
  answer: unknown,
  request: { url: string; payload?: object },
): Promise<unknown> {
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  app.route({ ...routeOptions(route), handler: async () => answer as never });
  const res = await app.inject({ method: route.method, url: request.url, payload: request.payload });
  await app.close();
  expect(res.statusCode).toBe(200);
  return res.json();
}

describe("recovery contract", () => {
  it("a restart answers its outcome with the managed process, or null", async () => {
    const managed: RestartOutcome = {
      agentId: AGENT,
      mode: "restart",
      via: "managed",
      releasedTaskIds: [TASK],
      managed: { name: "writer", replica: 1, previousPid: 4242, pid: null },
    };
    const remote: RestartOutcome = { ...managed, mode: "drain", via: "command", managed: null };
    for (const answer of [managed, remote]) {
      expect(
        await served(R.restartAgent, answer, {
          url: `/api/dashboard/agents/${AGENT}/restart`,
          payload: { reason: "stuck" },
        }),
      ).toEqual(answer);
    }
  });

  it("an auto-heal pass answers its plan, what ran (with why it failed) and what the limits held back", async () => {
    const report: HealReport = {
      strategy: "aggressive",
      dryRun: false,
      plan: [
        { action: "retry_dead_task", target: TASK, reason: "transient" },
        { action: "drain_restart_agent", target: AGENT, reason: "stale" },
      ],
      executed: [
        { action: "retry_dead_task", target: TASK, outcome: "executed" },
        { action: "open_circuit", target: "flaky.type", outcome: "failed", detail: "redis down" },
      ],
      skipped: [{ action: "drain_restart_agent", target: AGENT, why: "limit: 3 restarts" }],
    };
    expect(
      await served(R.autoHeal, report, {
        url: "/api/dashboard/recovery/auto-heal",
        payload: { strategy: "aggressive", dryRun: false },
      }),
    ).toEqual(report);
  });

  it("managed agents answer each process with its last exit, and the gates in force", async () => {
    const reply: Static<typeof ManagedAgentsReply> = {
      managed: [
        {
          name: "writer",
          replica: 0,
          state: "running",
          pid: 999,
          agentId: AGENT,
          restartsInWindow: 2,
          lastExit: { code: null, signal: "SIGKILL", requested: false },
        },
        {
          name: "writer",
          replica: 1,
          state: "failed",
          pid: null,
          agentId: null,
          restartsInWindow: 5,
          lastExit: { code: 1, signal: null, requested: true },
        },
        {
          name: "reader",
          replica: 0,
          state: "starting",
          pid: 1000,
          agentId: null,
          restartsInWindow: 0,
          lastExit: null,
        },
      ],
      quarantinedAgents: { "flappy-0": "2030-01-01T00:00:00.000Z" },
      openCircuits: { "flaky.type": "2030-01-01T00:01:00.000Z" },
    };
    expect(await served(R.managedAgents, reply, { url: "/api/dashboard/recovery/managed-agents" })).toEqual(
      reply,
    );
  });
});
