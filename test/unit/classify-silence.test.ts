import { describe, expect, it } from "vitest";
import type { AgentStateName } from "../../daemon/events/catalogue.ts";
import { classifySilence } from "../../daemon/liveness/classify-silence.ts";

const NOW = 1_000_000;
const T = { staleAfterMs: 400, deadAfterMs: 1_000 };
const agent = (agentId: string, state: AgentStateName, ageMs: number) => ({
  agentId,
  state,
  lastHeartbeatAt: NOW - ageMs,
});

describe("classifySilence", () => {
  it("stale at exactly the stale threshold, not a millisecond before", () => {
    expect(classifySilence([agent("a", "active", 399)], NOW, T)).toEqual([]);
    expect(classifySilence([agent("a", "active", 400)], NOW, T)).toEqual([
      { agentId: "a", from: "active", to: "stale", ageMs: 400 },
    ]);
  });

  it("dead at exactly the dead threshold, not a millisecond before", () => {
    expect(classifySilence([agent("a", "active", 999)], NOW, T)).toEqual([
      { agentId: "a", from: "active", to: "stale", ageMs: 999 },
    ]);
    expect(classifySilence([agent("a", "active", 1_000)], NOW, T)).toEqual([
      { agentId: "a", from: "active", to: "dead", ageMs: 1_000 },
    ]);
    expect(classifySilence([agent("s", "stale", 999)], NOW, T)).toEqual([]);
    expect(classifySilence([agent("s", "stale", 1_000)], NOW, T)).toEqual([
      { agentId: "s", from: "stale", to: "dead", ageMs: 1_000 },
    ]);
  });

  it("a draining agent goes stale and dead like any other", () => {
    expect(classifySilence([agent("d", "draining", 400), agent("e", "draining", 2_000)], NOW, T)).toEqual([
      { agentId: "d", from: "draining", to: "stale", ageMs: 400 },
      { agentId: "e", from: "draining", to: "dead", ageMs: 2_000 },
    ]);
  });

  it("ignores dead and left agents, and agents already in the right state", () => {
    expect(
      classifySilence(
        [agent("x", "dead", 10_000), agent("y", "left", 10_000), agent("z", "stale", 500)],
        NOW,
        T,
      ),
    ).toEqual([]);
  });

  it("a heartbeat stamped in the future counts as age 0", () => {
    expect(
      classifySilence([{ agentId: "f", state: "active", lastHeartbeatAt: NOW + 5_000 }], NOW, T),
    ).toEqual([]);
  });

  it("classifies a mixed batch in order", () => {
    const out = classifySilence(
      [
        agent("a", "active", 0),
        agent("b", "active", 450),
        agent("c", "stale", 1_500),
        agent("d", "active", 3_000),
      ],
      NOW,
      T,
    );
    expect(out.map((t) => `${t.agentId}:${t.from}→${t.to}`)).toEqual([
      "b:active→stale",
      "c:stale→dead",
      "d:active→dead",
    ]);
  });
});
