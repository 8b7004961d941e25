import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { request } from "../../sdk/cli/cli-http.ts";
import { CliError, EXIT } from "../../sdk/cli/exit-codes.ts";
import { componentProblem, healthLines, taskLines, totalsLine } from "../../sdk/cli/render.ts";

/** The CLI's text for people, from fixed answers: no daemon, no terminal. */
const ok = (detail: unknown = {}) => ({ status: "ok", latencyMs: 1, detail });

describe("status text", () => {
  const health = (
    components: Record<string, { status: string; latencyMs: number | null; detail: unknown }>,
  ) => ({
    status: "degraded",
    score: 70,
    components,
    overrides: [],
    checkedAt: "2026-12-07T03:00:00.000Z",
  });

  it("names each failing component and says why, from its detail", () => {
    const text = healthLines(
      health({
        postgres: ok({ migrationsPending: [] }),
        redis: ok(),
        queues: {
          status: "degraded",
          latencyMs: 2,
          detail: { ready: 4, delayed: 0, active: 0, oldestReadyAgeSeconds: 412.4, degradedAfterSeconds: 60 },
        },
        loops: {
          status: "degraded",
          latencyMs: null,
          detail: {
            lifecycle: "RUNNING",
            failingInLastMinute: {
              retention: { lastErrorAt: "…", lastError: "deadlock detected", errorsSinceStart: 2 },
            },
          },
        },
        leader: {
          status: "down",
          latencyMs: 1,
          detail: { leader: null, message: "no replica holds the lease" },
        },
        canary: { status: "unknown", latencyMs: null, detail: { message: "disabled" } },
      }),
    );
    expect(text).toContain("degraded because of: queues, loops, leader");
    expect(text).toContain(
      "  queues degraded: oldest claimable task has waited 412 s (degraded after 60 s; 4 ready)",
    );
    expect(text).toContain("  loops degraded: loop retention failed: deadlock detected");
    expect(text).toContain("  leader down: no replica holds the lease");
    // An unknown component is not a failure; the table still lists every component.
    expect(text).not.toContain("canary unknown:");
    expect(text).toMatch(/CANARY|canary\s+unknown/);
  });

  it("explains the other components' failures too", () => {
    expect(
      componentProblem("postgres", { status: "degraded", detail: { migrationsPending: ["17_x.sql"] } }),
    ).toBe("migrations not applied: 17_x.sql");
    expect(componentProblem("redis", { status: "down", detail: { error: "timed out after 2 s" } })).toBe(
      "timed out after 2 s",
    );
    expect(
      componentProblem("agents", {
        status: "down",
        detail: { byRole: { planner: { dead: 2 }, coder: { active: 1 } } },
      }),
    ).toBe("no active agent for role planner");
    expect(
      componentProblem("canary", {
        status: "degraded",
        detail: {
          roles: [
            { role: "a", outcome: "success", detail: "answered" },
            { role: "b", outcome: "timeout", detail: "no answer in 5 s" },
          ],
        },
      }),
    ).toBe("role b timeout: no answer in 5 s");
    expect(componentProblem("eventLoop", { status: "degraded", detail: { p99Seconds: 0.25 } })).toBe(
      "event-loop delay p99 0.250 s",
    );
  });

  it("an ok system says nothing more than before", () => {
    const text = healthLines({ ...health({ redis: ok() }), status: "ok" });
    expect(text).not.toContain("because");
  });
});

describe("tasks text", () => {
  it("prints totals as words, not JSON", () => {
    expect(totalsLine({ ready: 3, active: 1 })).toBe("ready 3 · active 1");
    expect(totalsLine({})).toBe("none");
  });

  it("prints one task as labelled lines and its attempts as a table", () => {
    const text = taskLines({
      id: "5f0c0000-0000-4000-8000-000000000001",
      type: "summarise",
      state: "queued",
      payload: { topic: "item 1" },
      priority: 100,
      maxAttempts: 3,
      timeoutMs: 60000,
      idempotencyKey: null,
      attempts: [
        {
          attempt: 1,
          agentId: "a0000000-0000-4000-8000-000000000001",
          claimedAt: "2026-12-07T03:00:00.000Z",
          finishedAt: "2026-12-07T03:00:01.000Z",
          outcome: "failed",
          error: { message: "upstream tool timed out", category: "timeout", retryable: true },
        },
      ],
      failures: 1,
      progress: null,
      leaseAgentId: null,
      nextAttemptAt: "2026-12-07T03:00:03.000Z",
      createdAt: "2026-12-07T02:59:59.000Z",
      updatedAt: "2026-12-07T03:00:01.000Z",
      finishedAt: null,
    });
    expect(text).toMatch(/^task\s+5f0c0000-0000-4000-8000-000000000001$/m);
    expect(text).toMatch(/^state\s+queued$/m);
    expect(text).toMatch(/^attempts\s+1 \(1 of 3 failures allowed\)$/m);
    expect(text).toMatch(/^next attempt\s+2026-12-07T03:00:03.000Z$/m);
    expect(text).toMatch(/^payload\s+\{"topic":"item 1"\}$/m);
    expect(text).toMatch(/ATTEMPT\s+AGENTID/);
    expect(text).toContain("upstream tool timed out (timeout)");
    expect(text).not.toContain('"attempts"');
  });
});

describe("an unreachable daemon", () => {
  it("says which URL could not be connected to and why, with exit code 4 (also on fetch's 'bad ports')", async () => {
    // A port nothing listens on: bind one, note it, close it.
    const free = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    for (const url of ["http://127.0.0.1:1", `http://127.0.0.1:${free}`]) {
      const error = await request({ url, token: "t", timeoutMs: 5_000 }, "GET", "/readyz").catch((e) => e);
      expect(error).toBeInstanceOf(CliError);
      expect((error as CliError).code).toBe(EXIT.unreachable);
      expect((error as CliError).message).toBe(
        `cannot connect to ${url} (connection refused): is the daemon running, and is --url (or OVERSEER_URL) right?`,
      );
      expect((error as CliError).body.error.code).toBe("OVS_CLI_UNREACHABLE");
    }
  });

  it("a URL that is not one is a usage error", async () => {
    for (const url of ["127.0.0.1:8080", "localhost:8080", "ftp://127.0.0.1"]) {
      const error = await request({ url, token: "t", timeoutMs: 1_000 }, "GET", "/x").catch((e) => e);
      expect((error as CliError).code, url).toBe(EXIT.usage);
    }
  });
});
