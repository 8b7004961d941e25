// Load generator (child process, IPC): FLEET_AGENTS SDK Agents with FLEET_CONCURRENCY slots each and
// zero-work handlers for every type in FLEET_TYPES. Messages from the parent:
//   {type:"start"} → registers every agent, answers {type:"started", ids}
//   {type:"stop"}  → drains, answers {type:"stopped", stats, errors} and exits 0
// It exits by itself when the parent goes away.
import { Agent } from "../../sdk/agent.ts";
import type { AgentStats } from "../../sdk/agent-types.ts";

const env = process.env;
const url = env["OVERSEER_URL"] ?? "";
const agentSecret = env["OVERSEER_AGENT_SECRET"] ?? "";
const count = Number(env["FLEET_AGENTS"] ?? 4);
const concurrency = Number(env["FLEET_CONCURRENCY"] ?? 16);
const types = (env["FLEET_TYPES"] ?? "").split(",").filter(Boolean);

const send = (m: Record<string, unknown>) => process.send?.(m);
const errors: Record<string, number> = {};
let agents: Agent[] = [];

const zeroWork = async () => undefined;

async function start(): Promise<void> {
  agents = Array.from(
    { length: count },
    (_, i) =>
      new Agent({
        url,
        agentSecret,
        name: `bench-fleet-${process.pid}-${i}`,
        role: "bench",
        concurrency,
        handlers: Object.fromEntries(types.map((t) => [t, zeroWork])),
      }),
  );
  for (const agent of agents) {
    agent.on("error", (err) => {
      const key = err.message.slice(0, 120);
      errors[key] = (errors[key] ?? 0) + 1;
    });
  }
  await Promise.all(agents.map((a) => a.start()));
  send({ type: "started", ids: agents.map((a) => a.id) });
}

async function stop(): Promise<void> {
  await Promise.all(agents.map((a) => a.stop({ graceMs: 2_000 })));
  const stats: AgentStats = { claimed: 0, completed: 0, failed: 0, lost: 0, released: 0 };
  for (const a of agents)
    for (const k of Object.keys(stats) as Array<keyof AgentStats>) stats[k] += a.stats[k];
  send({ type: "stopped", stats, errors });
  setImmediate(() => process.exit(0));
}

process.on("message", (m: { type?: string }) => {
  const fail = (err: unknown) => {
    send({ type: "error", message: (err as Error)?.message ?? String(err) });
    process.exit(1);
  };
  if (m?.type === "start") start().catch(fail);
  if (m?.type === "stop") stop().catch(fail);
});
process.on("disconnect", () => process.exit(1));
send({ type: "loaded" });
