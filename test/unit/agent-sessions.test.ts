import { describe, expect, it } from "vitest";
import { AgentSessions, type SessionDirectory } from "../../daemon/agents/agent-sessions.ts";

/** The registry's decisions with a map for Redis and timers run by hand. */
function harness(opts: { openFails?: boolean } = {}) {
  const current = new Map<string, string>();
  const directory: SessionDirectory = {
    async open(agentId, sessionId) {
      if (opts.openFails) throw new Error("redis down");
      const previous = current.get(agentId) ?? null;
      current.set(agentId, sessionId);
      return previous;
    },
    async end(agentId, sessionId) {
      if (current.get(agentId) !== sessionId) return false;
      current.delete(agentId);
      return true;
    },
  };
  const timers: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  const dead: string[] = [];
  const events: string[] = [];
  const errors: string[] = [];
  let n = 0;
  const sessions = new AgentSessions({
    directory,
    declareDead: async (agentId) => {
      dead.push(agentId);
      return true;
    },
    graceMs: 150,
    timers: {
      setTimeout: (fn, ms) => {
        const t = { fn, ms, cleared: false };
        timers.push(t);
        return t;
      },
      clearTimeout: (t) => {
        (t as { cleared: boolean }).cleared = true;
      },
    },
    now: () => 0,
    newId: () => `s${++n}`,
    observe: {
      opened: (resumed) => events.push(resumed ? "opened:resumed" : "opened"),
      closed: (reason) => events.push(`closed:${reason}`),
      graceExpired: () => events.push("grace-expired"),
    },
    onError: (_e, context) => errors.push(context),
  });
  const socket = () => {
    const closes: number[] = [];
    return { closes, close: (code: number) => closes.push(code) };
  };
  /** Fires every armed, uncleared timer and lets the async work settle. */
  const fire = async () => {
    for (const t of timers.splice(0)) if (!t.cleared) t.fn();
    await new Promise((r) => setImmediate(r));
  };
  return { sessions, current, timers, dead, events, errors, socket, fire };
}

describe("agent sessions: death by disconnect", () => {
  it("declares the agent dead when a lost session is not resumed within the grace", async () => {
    const h = harness();
    const s = await h.sessions.opened("a1", h.socket());
    h.sessions.closed(s);
    expect(h.timers.map((t) => t.ms)).toEqual([150]);
    expect(h.dead).toEqual([]);
    await h.fire();
    expect(h.dead).toEqual(["a1"]);
    expect(h.events).toEqual(["opened", "closed:lost", "grace-expired"]);
  });

  it("does nothing when a new session (on any replica) took over within the grace: a resume", async () => {
    const h = harness();
    const s = await h.sessions.opened("a1", h.socket());
    h.sessions.closed(s);
    // Another replica took the reconnect: only the shared directory knows.
    h.current.set("a1", "elsewhere");
    await h.fire();
    expect(h.dead).toEqual([]);
    const again = await h.sessions.opened("a1", h.socket());
    expect(again.id).not.toBe(s.id);
    expect(h.events.at(-1)).toBe("opened:resumed");
  });

  it("a goodbye ends the entry and arms no timer; a replaced session closes 4409 and is no death", async () => {
    const h = harness();
    const first = h.socket();
    const s1 = await h.sessions.opened("a1", first);
    const s2 = await h.sessions.opened("a1", h.socket());
    expect(first.closes).toEqual([4409]);
    h.sessions.closed(s1);
    h.sessions.goodbye(s2);
    h.sessions.closed(s2);
    await new Promise((r) => setImmediate(r));
    expect(h.timers).toEqual([]);
    expect(h.current.has("a1")).toBe(false);
    expect(h.events).toEqual(["opened", "opened:resumed", "closed:replaced", "closed:goodbye"]);
  });

  it("a draining replica closes its sessions with 1012, clears pending graces and kills nobody", async () => {
    const h = harness();
    const lost = await h.sessions.opened("a1", h.socket());
    const open = h.socket();
    const kept = await h.sessions.opened("a2", open);
    h.sessions.closed(lost);
    h.sessions.stop();
    expect(open.closes).toEqual([1012]);
    h.sessions.closed(kept);
    await h.fire();
    expect(h.dead).toEqual([]);
    expect(h.events.at(-1)).toBe("closed:daemon_stopping");
  });

  it("opens the session when Redis cannot record it, and leaves its death to the silence rule", async () => {
    const h = harness({ openFails: true });
    const s = await h.sessions.opened("a1", h.socket());
    expect(h.errors).toEqual(["register a session in Redis"]);
    h.sessions.closed(s);
    await h.fire();
    expect(h.dead).toEqual([]);
  });
});
