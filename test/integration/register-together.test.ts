import { describe, expect, it } from "vitest";
import { suiteDaemon } from "../helpers/suite-daemon.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * Registrations that arrive together share one statement: each still gets its own agent (id,
 * token, capabilities), its first transition, and a live mirror in Redis (it can heartbeat at once).
 */
const suite = suiteDaemon();

describe("a burst of registrations", () => {
  it("registers each agent once, with its own transition and a live mirror", async () => {
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        suite.d.api("POST", "/api/agents/register", {
          token: TOKENS.agentSecret,
          body: {
            name: `burst-${i}`,
            role: "burst",
            capabilities: [`burst.${i % 3}`, "burst.all"],
            concurrency: 2,
          },
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(60).fill(201));
    const ids = answers.map((a) => a.body.id as string);
    expect(new Set(ids).size).toBe(60);
    const rows = await suite.db.query<{
      id: string;
      name: string;
      capabilities: string[];
      transitions: number;
    }>(
      `SELECT a.id, a.name, a.capabilities, (SELECT count(*)::int FROM agent_transitions t WHERE t.agent_id = a.id
         AND t.to_state = 'active' AND t.reason = 'registered') AS transitions
       FROM agents a WHERE a.role = 'burst'`,
    );
    expect(rows.rows).toHaveLength(60);
    for (const [i, answer] of answers.entries()) {
      const row = rows.rows.find((r) => r.id === answer.body.id);
      expect(row).toMatchObject({
        name: `burst-${i}`,
        capabilities: [`burst.${i % 3}`, "burst.all"],
        transitions: 1,
      });
    }
    const beats = await Promise.all(
      answers.map((a) =>
        suite.d.api("POST", `/api/agents/${a.body.id}/heartbeat`, {
          token: a.body.token,
          body: { status: "active" },
        }),
      ),
    );
    expect(beats.map((b) => b.status)).toEqual(Array(60).fill(200));
  });
});
