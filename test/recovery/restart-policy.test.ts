import { describe, expect, it } from "vitest";
import { parseManagedAgents } from "../../recovery/managed/managed-config.ts";
import {
  backoffDelayMs,
  decideRestart,
  type ExitInfo,
  type RestartPolicy,
} from "../../recovery/managed/restart-policy.ts";

const policy = (over: Partial<RestartPolicy> = {}): RestartPolicy => ({
  restart: "permanent",
  backoffInitialMs: 100,
  backoffMaxMs: 1_000,
  backoffFactor: 2,
  maxRestarts: 3,
  periodMs: 10_000,
  ...over,
});
const crash: ExitInfo = { code: 1, signal: null, requested: false };
const clean: ExitInfo = { code: 0, signal: null, requested: false };

describe("restart policy", () => {
  it("backs off exponentially up to the cap", () => {
    const p = policy();
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelayMs(p, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelayMs(policy({ backoffFactor: 1 }), 5)).toBe(100);
  });

  it("simulates a crash loop: growing delays, then gives up at the intensity limit", () => {
    const p = policy();
    const restarts: number[] = [];
    const delays: number[] = [];
    let now = 0;
    let streak = 0;
    for (let i = 0; i < 10; i++) {
      const d = decideRestart(p, crash, restarts, streak, now);
      if (d.kind !== "restart") {
        expect(d.kind).toBe("give_up");
        break;
      }
      delays.push(d.delayMs);
      streak++;
      now += d.delayMs;
      restarts.push(now);
    }
    expect(delays).toEqual([100, 200, 400]);
    expect(restarts).toHaveLength(3);
  });

  it("forgets restarts older than the period", () => {
    const p = policy();
    expect(decideRestart(p, crash, [0, 1, 2], 3, 5_000).kind).toBe("give_up");
    expect(decideRestart(p, crash, [0, 1, 2], 3, 10_002).kind).toBe("restart");
  });

  it("permanent restarts after any exit, transient only after an abnormal one, temporary never", () => {
    expect(decideRestart(policy(), clean, [], 0, 0)).toMatchObject({ kind: "restart", reason: "exited" });
    expect(decideRestart(policy({ restart: "transient" }), clean, [], 0, 0).kind).toBe("leave_down");
    expect(decideRestart(policy({ restart: "transient" }), crash, [], 0, 0)).toMatchObject({
      kind: "restart",
      reason: "crashed",
    });
    const killed: ExitInfo = { code: null, signal: "SIGKILL", requested: false };
    expect(decideRestart(policy({ restart: "transient" }), killed, [], 0, 0).kind).toBe("restart");
    expect(decideRestart(policy({ restart: "temporary" }), crash, [], 0, 0).kind).toBe("leave_down");
  });

  it("treats exit 75 as a clean exit, and carries out requested restarts at once whatever the policy", () => {
    const restartCmd: ExitInfo = { code: 75, signal: null, requested: false };
    expect(decideRestart(policy({ restart: "transient" }), restartCmd, [], 0, 0).kind).toBe("leave_down");
    const asked: ExitInfo = { code: null, signal: "SIGTERM", requested: true };
    expect(decideRestart(policy({ restart: "temporary" }), asked, [], 4, 0)).toEqual({
      kind: "restart",
      delayMs: 0,
      reason: "requested",
    });
    expect(decideRestart(policy(), asked, [1, 2, 3], 0, 10).kind).toBe("give_up");
  });
});

describe("managed agents file", () => {
  it("fills defaults and rejects bad entries with every problem named", () => {
    const [spec] = parseManagedAgents(JSON.stringify({ agents: [{ name: "w", command: "node" }] }));
    expect(spec).toMatchObject({
      name: "w",
      replicas: 1,
      args: [],
      policy: { restart: "permanent", maxRestarts: 5 },
    });
    expect(() =>
      parseManagedAgents(
        JSON.stringify({
          agents: [
            { name: "Bad Name", command: "x" },
            { name: "ok", command: "" },
          ],
        }),
      ),
    ).toThrow(/agents\[0\]: name.*agents\[1\]: command/);
    expect(() => parseManagedAgents("{")).toThrow(/not JSON/);
    expect(() =>
      parseManagedAgents(JSON.stringify({ agents: [{ name: "a", command: "x", restart: "sometimes" }] })),
    ).toThrow(/restart/);
    expect(() =>
      parseManagedAgents(
        JSON.stringify({ agents: [{ name: "a", command: "x", backoff: { initialMs: -1 } }] }),
      ),
    ).toThrow(/backoff.initialMs/);
  });
});
