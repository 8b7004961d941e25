import { describe, expect, it } from "vitest";
import {
  AGENT_STATES,
  type AgentEvent,
  canClaim,
  isLive,
  LIVE_AGENT_STATES,
  nextAgentState,
} from "../../daemon/agents/agent-state.ts";
import type { AgentStateName } from "../../daemon/events/catalogue.ts";

const STALE = 400;
const DEAD = 1_000;
const silence = (ageMs: number): AgentEvent => ({
  kind: "silence",
  ageMs,
  staleAfterMs: STALE,
  deadAfterMs: DEAD,
});

const EVENTS: Record<string, AgentEvent> = {
  "heartbeat active": { kind: "heartbeat", status: "active" },
  "heartbeat draining": { kind: "heartbeat", status: "draining" },
  "silence < stale": silence(STALE - 1),
  "silence = stale": silence(STALE),
  "silence < dead": silence(DEAD - 1),
  "silence = dead": silence(DEAD),
  "silence > dead": silence(DEAD * 10),
  deregister: { kind: "deregister" },
};

/** The whole transition table: state × event → next state. */
const TABLE: Record<AgentStateName, Record<keyof typeof EVENTS, AgentStateName>> = {
  active: {
    "heartbeat active": "active",
    "heartbeat draining": "draining",
    "silence < stale": "active",
    "silence = stale": "stale",
    "silence < dead": "stale",
    "silence = dead": "dead",
    "silence > dead": "dead",
    deregister: "left",
  },
  stale: {
    "heartbeat active": "active",
    "heartbeat draining": "draining",
    "silence < stale": "stale",
    "silence = stale": "stale",
    "silence < dead": "stale",
    "silence = dead": "dead",
    "silence > dead": "dead",
    deregister: "left",
  },
  draining: {
    "heartbeat active": "active",
    "heartbeat draining": "draining",
    "silence < stale": "draining",
    "silence = stale": "stale",
    "silence < dead": "stale",
    "silence = dead": "dead",
    "silence > dead": "dead",
    deregister: "left",
  },
  dead: Object.fromEntries(Object.keys(EVENTS).map((e) => [e, "dead"])) as Record<string, AgentStateName>,
  left: Object.fromEntries(Object.keys(EVENTS).map((e) => [e, "left"])) as Record<string, AgentStateName>,
};

describe("nextAgentState", () => {
  it("covers every state", () => {
    expect(Object.keys(TABLE).sort()).toEqual([...AGENT_STATES].sort());
  });

  for (const from of AGENT_STATES) {
    for (const [name, event] of Object.entries(EVENTS)) {
      const to = TABLE[from][name];
      it(`${from} + ${name} → ${to}`, () => {
        expect(nextAgentState(from, event)).toBe(to);
      });
    }
  }

  it("dead and left are terminal: nothing brings an agent back", () => {
    for (const terminal of ["dead", "left"] as const) {
      let state: AgentStateName = terminal;
      for (const event of Object.values(EVENTS)) state = nextAgentState(state, event);
      expect(state).toBe(terminal);
    }
  });

  it("a silent agent walks active → stale → dead", () => {
    let state: AgentStateName = "active";
    const seen: AgentStateName[] = [state];
    for (const age of [0, 200, 400, 700, 1_000, 5_000]) {
      const next = nextAgentState(state, silence(age));
      if (next !== state) seen.push(next);
      state = next;
    }
    expect(seen).toEqual(["active", "stale", "dead"]);
  });
});

describe("isLive / canClaim", () => {
  it.each([
    ["active", true, true],
    ["stale", true, true],
    ["draining", true, false],
    ["dead", false, false],
    ["left", false, false],
  ] as const)("%s: live %s, may claim %s", (state, live, claim) => {
    expect(isLive(state)).toBe(live);
    expect(canClaim(state)).toBe(claim);
  });

  it("LIVE_AGENT_STATES are exactly the live ones, and claiming needs a live state", () => {
    expect([...LIVE_AGENT_STATES].sort()).toEqual(AGENT_STATES.filter(isLive).sort());
    for (const state of AGENT_STATES) if (canClaim(state)) expect(isLive(state)).toBe(true);
  });
});
