import type { OverrideAction, OverrideState, OverrideView } from "../../../contract/schemas/overrides.ts";
import { api } from "../api.ts";
import { h, link, table } from "../dom.ts";
import { time } from "../format.ts";

/** What each emergency override does, in plain words (docs/overrides.md), for the overrides page. */

export const OVERRIDE_HELP: Record<OverrideAction, { name: string; does: string; ends: string }> = {
  stop_all_tasks: {
    name: "Stop all tasks",
    does: "Pauses dispatch: agents claim nothing new. Tasks already running finish as usual; new submits are accepted and wait in the queue.",
    ends: "On undo or expiry, claims resume within about a second.",
  },
  restart_all_agents: {
    name: "Restart all agents",
    does: "One shot: every live agent hands back its tasks (they return to the queue, not counted as failures) and is told to restart with its next heartbeat.",
    ends: "Done at once: it cannot expire or be undone.",
  },
  clear_task_queue: {
    name: "Clear the task queue",
    does: "Parks every queued task in state archived (nothing is deleted). Tasks submitted afterwards queue normally.",
    ends: "On undo or expiry, exactly the tasks it archived are queued again.",
  },
  system_maintenance: {
    name: "Maintenance mode",
    does: "Refuses new work: task submits and pipeline runs answer 503. Reads, claims and heartbeats go on, so agents finish what they hold. Schedules still start runs.",
    ends: "On undo or expiry, submits are accepted again.",
  },
};
export const OVERRIDE_ACTIONS = Object.keys(OVERRIDE_HELP) as OverrideAction[];

export const OVERRIDE_STATE_HELP: Record<OverrideState, string> = {
  active: "in force now",
  done: "a one-shot action that completed",
  undone: "ended early by an admin",
  expired: "ended by its expiry",
};

export function overrideHelpTable(): HTMLElement {
  return table(
    OVERRIDE_ACTIONS,
    [
      {
        head: "Override",
        cell: (a) =>
          h("span", null, h("strong", null, OVERRIDE_HELP[a].name), h("br"), h("span", { class: "mono" }, a)),
      },
      { head: "While it is in force", cell: (a) => OVERRIDE_HELP[a].does },
      { head: "How it ends", cell: (a) => OVERRIDE_HELP[a].ends },
    ],
    "",
  );
}

/** A notice of the overrides in force (they explain an idle queue or refused submits), or null. */
export async function overridesInForce(): Promise<HTMLElement | null> {
  try {
    const { overrides } = await api.get<{ overrides: OverrideView[] }>("/api/dashboard/system/overrides", {
      state: "active",
    });
    if (overrides.length === 0) return null;
    return h(
      "div",
      { class: "card", role: "status", style: "margin-bottom: 8px" },
      h("strong", null, "▲ Emergency override in force: "),
      overrides.map((o) =>
        h(
          "span",
          null,
          `${OVERRIDE_HELP[o.action].name} (${OVERRIDE_HELP[o.action].does}) `,
          o.expiresAt ? `Expires ${time(o.expiresAt)}. ` : "No expiry. ",
        ),
      ),
      link("#/overrides", "Overrides →"),
    );
  } catch {
    return null;
  }
}
