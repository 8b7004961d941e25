// The idle agent that takes over a killed agent's task (child process, IPC). One SDK Agent with one
// slot and two handlers:
//   RESCUER_GATE_TYPE - held until {type:"release"} ({type:"gate-held"}, then {type:"gate-done"} once
//                       the daemon accepted the completion): keeps the slot busy while a holder claims.
//   RESCUER_WORK_TYPE - answers {type:"picked", taskId, attempt, at} when it starts, completes at once.
// Answers {type:"registered", id} after registering (and after any re-registration).
import { Agent } from "../../sdk/agent.ts";

const env = process.env;
const gateType = env["RESCUER_GATE_TYPE"] ?? "";
const workType = env["RESCUER_WORK_TYPE"] ?? "";
const send = (m: Record<string, unknown>) => process.send?.(m);
let releaseGate: () => void = () => {};

const agent = new Agent({
  url: env["OVERSEER_URL"] ?? "",
  agentSecret: env["OVERSEER_AGENT_SECRET"] ?? "",
  name: `bench-rescuer-${process.pid}`,
  role: "bench",
  concurrency: 1,
  handlers: {
    [gateType]: async (ctx) => {
      send({ type: "gate-held", taskId: ctx.id });
      await new Promise<void>((resolve) => {
        releaseGate = resolve;
      });
    },
    [workType]: async (ctx) => {
      send({ type: "picked", taskId: ctx.id, attempt: ctx.attempt, at: Date.now() });
    },
  },
});
agent.on("task:completed", (info) => {
  if (info.type === gateType) send({ type: "gate-done", taskId: info.taskId });
});
agent.on("error", (err) => send({ type: "warning", message: err.message }));
// Also after a re-registration (the daemon declared this agent dead, e.g. on an overloaded machine).
agent.on("registered", ({ id }) => send({ type: "registered", id }));
process.on("message", (m: { type?: string }) => {
  if (m?.type === "release") releaseGate();
  if (m?.type === "stop") void agent.stop({ graceMs: 1_000 }).then(() => process.exit(0));
});
process.on("disconnect", () => process.exit(1));
agent.start().catch((err: Error) => {
  send({ type: "error", message: err.message });
  process.exit(1);
});
