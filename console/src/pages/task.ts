import type { ConsoleSession } from "../../../contract/schemas/console.ts";
import type { AgentsStatusReply } from "../../../contract/schemas/dashboard.ts";
import { type ActionSpec, actionBar } from "../actions.ts";
import { api } from "../api.ts";
import { badge, errorBox, fill, h, json, kv, link, table } from "../dom.ts";
import { ago, duration, short, time } from "../format.ts";
import { hrefOf, type Page, type PageContext } from "../router.ts";
import { overridesInForce } from "./override-help.ts";
import { auditTrail } from "./task-audit.ts";
import { agentLink, agentNames, OUTCOME_WORDS, TASK_STATE_HELP, type TaskView } from "./task-shared.ts";

const MAX_PRIORITY = 1000;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const RESULT_NOTE: Partial<Record<TaskView["state"], string>> = {
  completed: "It completed without a result.",
  failed: "No result: it ended without completing.",
  dead: "No result: it ended without completing.",
  cancelled: "No result: it was cancelled.",
};
const AUTOMATIC = "automatic: the least-loaded capable agent";

/**
 * One task: `GET /api/tasks/:id` (state, payload, result, every attempt), the levers that fit its
 * state (retry, cancel, priority, reassign) and its audit trail (`GET /api/audit?targetId=`).
 */
export const taskPage: Page = {
  pattern: "/tasks/:id",
  title: "Task",
  under: "/tasks",
  async render(ctx: PageContext) {
    const id = ctx.params.id ?? "";
    fill(ctx.root, h("h1", null, `Task ${short(id)}`), h("p", null, "Loading…"));
    let t: TaskView;
    try {
      t = await api.get<TaskView>(`/api/tasks/${encodeURIComponent(id)}`);
    } catch (e) {
      fill(ctx.root, h("h1", null, `Task ${short(id)}`), errorBox(e), link("#/tasks", "← All tasks"));
      return;
    }
    const names = t.attempts.length > 0 || t.leaseAgentId ? await agentNames() : null;
    const specs = await actions(t, ctx);
    // A queued task that does not move may be held by an override (dispatch paused).
    const held = t.state === "queued" ? await overridesInForce() : null;
    fill(
      ctx.root,
      h(
        "p",
        { class: "help" },
        link("#/tasks", "← Tasks"),
        " · ",
        link(hrefOf("/tasks", { type: t.type }), `tasks of type ${t.type}`),
      ),
      h("h1", null, `Task ${short(t.id)} `, badge(t.state)),
      h("p", { class: "sub" }, `${t.type}: ${TASK_STATE_HELP[t.state]}.`),
      held,
      actionBar(ctx.session, specs),
      specs.length < 4 && ctx.session.role !== "viewer"
        ? h(
            "p",
            { class: "help" },
            "Levers offered by state: retry for failed or dead tasks, cancel for queued, active or archived ones, priority for queued ones, reassign for queued or active ones.",
          )
        : null,
      h("section", { class: "card" }, kv(facts(t, names))),
      h("h2", null, `Attempts (${t.attempts.length} leases)`),
      attempts(t, names),
      h("h2", null, "Payload"),
      json(t.payload),
      h("h2", null, "Result"),
      t.result === null
        ? h("p", { class: "empty" }, RESULT_NOTE[t.state] ?? "No result yet: the task has not completed.")
        : json(t.result),
      h("h2", null, "Audit trail"),
      await auditTrail(ctx.session, t.id),
    );
  },
};

function facts(
  t: TaskView,
  names: Map<string, string> | null,
): Array<[string, ReturnType<typeof h> | string]> {
  const err = t.error as { message?: string; category?: string; retryable?: boolean } | null;
  const pairs: Array<[string, ReturnType<typeof h> | string]> = [
    ["Id", h("span", { class: "mono" }, t.id)],
    ["Type", link(hrefOf("/tasks", { type: t.type }), t.type)],
    ["State", h("span", null, badge(t.state), ` ${TASK_STATE_HELP[t.state]}`)],
    ["Priority", `${t.priority} (0 to ${MAX_PRIORITY}; higher runs first)`],
    [
      "Attempts",
      `${t.attempts.length} leases so far; ${t.failures} of at most ${t.maxAttempts} attempts failed`,
    ],
    ["Timeout", `${duration(t.timeoutMs)} per attempt`],
    ["Held by", agentLink(t.leaseAgentId, names) as HTMLElement | string],
  ];
  if (t.progress) {
    const pct = t.progress.percent === null ? "no percentage" : `${t.progress.percent} % done`;
    pairs.push(["Progress", `${pct}${t.progress.message ? `: ${t.progress.message}` : ""}`]);
  }
  if (t.state === "queued" && t.nextAttemptAt && Date.parse(t.nextAttemptAt) > Date.now()) {
    pairs.push(["Next attempt", `${time(t.nextAttemptAt)} (delayed after a failure)`]);
  }
  if (err) {
    const cls = err.category ? `[${err.category}] ` : "";
    const retry = err.retryable === false ? " (the agent said retrying cannot help)" : "";
    pairs.push(["Last error", h("span", null, `${cls}${err.message ?? JSON.stringify(err)}${retry}`)]);
  }
  if (t.deadReason) pairs.push(["Why it ended", t.deadReason]);
  pairs.push(
    ["Idempotency key", t.idempotencyKey ?? "none"],
    ["Created", `${time(t.createdAt)} (${ago(t.createdAt)})`],
    ["Updated", `${time(t.updatedAt)} (${ago(t.updatedAt)})`],
    ["Finished", t.finishedAt ? `${time(t.finishedAt)} (${ago(t.finishedAt)})` : "not yet"],
  );
  return pairs;
}

function attempts(t: TaskView, names: Map<string, string> | null): HTMLElement {
  return table(
    [...t.attempts].sort((a, b) => a.attempt - b.attempt),
    [
      { head: "#", cell: (a) => String(a.attempt), num: true },
      { head: "Agent", cell: (a) => agentLink(a.agentId, names) },
      { head: "Claimed", cell: (a) => time(a.claimedAt) },
      { head: "Finished", cell: (a) => (a.finishedAt ? time(a.finishedAt) : "still running") },
      {
        head: "Took",
        cell: (a) =>
          duration((a.finishedAt ? Date.parse(a.finishedAt) : Date.now()) - Date.parse(a.claimedAt)),
        num: true,
      },
      { head: "Outcome", cell: (a) => badge(a.outcome === null ? "running" : OUTCOME_WORDS[a.outcome]) },
      { head: "Error class", cell: (a) => errorOf(a.error).category ?? "—" },
      { head: "Error message", cell: (a) => errorOf(a.error).message ?? "—" },
      {
        head: "Retryable",
        cell: (a) => (a.error === null ? "—" : errorOf(a.error).retryable === false ? "no" : "yes"),
      },
    ],
    "No attempts yet: no agent has claimed this task.",
  );
}

function errorOf(e: unknown): { message?: string; category?: string; retryable?: boolean } {
  return e && typeof e === "object"
    ? (e as { message?: string; category?: string; retryable?: boolean })
    : {};
}

/** The levers that can apply to the task in its state (the server still refuses a conflict with 409). */
async function actions(t: TaskView, ctx: PageContext): Promise<ActionSpec[]> {
  const id = encodeURIComponent(t.id);
  const specs: ActionSpec[] = [];
  if (t.state === "failed" || t.state === "dead") {
    specs.push({
      label: "Retry",
      need: "operator",
      title: `Retry task ${short(t.id)}`,
      explain:
        "Queues the task again with a fresh attempt budget; agents of its type can claim it at once. A priority boost moves it ahead of tasks waiting now. The audit log keeps your reason.",
      reason: "optional",
      fields: [{ name: "boost", label: "Priority boost (optional, e.g. 100)", type: "number" }],
      // The coordination retry: the same retry as POST /api/tasks/:id/retry, with a reason and boost.
      run: (reason, v) =>
        api.post(`/api/dashboard/tasks/${id}/retry`, {
          ...(reason ? { reason } : {}),
          ...(v.boost ? { priorityBoost: Number(v.boost) } : {}),
        }),
      done: ctx.reload,
    });
  }
  if (t.state === "queued" || t.state === "active" || t.state === "archived") {
    specs.push({
      label: "Cancel",
      need: "operator",
      danger: true,
      title: `Cancel task ${short(t.id)}`,
      explain:
        t.state === "active"
          ? "Ends the task for good. The agent's lease is revoked at once (its later reports are refused) and it is told to stop with its next heartbeat."
          : "Ends the task for good: no agent will claim it. This cannot be undone; submit it again if needed.",
      reason: "optional",
      run: (reason) => api.post(`/api/tasks/${id}/cancel`, reason ? { reason } : {}),
      done: ctx.reload,
    });
  }
  if (t.state === "queued") {
    specs.push({
      label: "Change priority",
      need: "operator",
      title: `Change the priority of task ${short(t.id)}`,
      explain: `Moves the task in its queue: higher runs first (0 to ${MAX_PRIORITY}; it is ${t.priority} now).`,
      reason: "optional",
      fields: [
        {
          name: "priority",
          label: `New priority (0 to ${MAX_PRIORITY})`,
          type: "number",
          value: String(t.priority),
          required: true,
        },
      ],
      run: (reason, v) =>
        api.post(`/api/tasks/${id}/priority`, {
          priority: Number(v.priority),
          ...(reason ? { reason } : {}),
        }),
      done: ctx.reload,
    });
  }
  if (t.state === "queued" || t.state === "active") {
    specs.push({
      label: "Reassign",
      need: "operator",
      title: `Reassign task ${short(t.id)}`,
      explain:
        "Takes the task from its current holder (that lease ends as released, not counted as a failure) and hands it to the agent you choose, or to the least-loaded healthy agent that can run this type. The chosen agent picks it up with its next claim.",
      reason: "required",
      fields: [{ name: "agent", label: "To agent", options: await reassignTargets(t, ctx.session) }],
      run: (reason, v) => {
        const agentId = UUID.exec(v.agent ?? "")?.[0];
        return api.post(`/api/dashboard/tasks/${id}/reassign`, agentId ? { agentId, reason } : { reason });
      },
      done: ctx.reload,
    });
  }
  return specs;
}

/** Active agents that can run the task's type, other than its holder: the agents a reassign accepts. */
async function reassignTargets(t: TaskView, session: ConsoleSession): Promise<string[]> {
  if (session.role === "viewer") return [AUTOMATIC];
  try {
    const reply = await api.get<AgentsStatusReply>("/api/dashboard/agents/status", {
      state: "active",
      limit: 99_999,
    });
    const fit = reply.agents.filter((a) => a.capabilities.includes(t.type) && a.id !== t.leaseAgentId);
    return [AUTOMATIC, ...fit.map((a) => `${a.name} (${a.role}, ${a.id})`)];
  } catch {
    return [AUTOMATIC];
  }
}
