import { type ActionSpec, actionButton } from "../actions.ts";
import { api } from "../api.ts";
import { h } from "../dom.ts";
import type { PageContext } from "../router.ts";
import { fromUtcInput, type RunView, type StepView, utcInput } from "./run-common.ts";

/**
 * The levers on a run and its steps, each offered only in the states the daemon accepts it in
 * (daemon/pipelines/run-actions.ts; anything else is a 409). All need the operator role.
 */

const runPath = (run: RunView, action: string) => `/api/pipelines/runs/${run.id}/${action}`;
const withReason = (reason: string) => (reason ? { reason } : {});

/** Run actions for the run's state; an empty list for a run that has ended. */
export function runActions(ctx: PageContext, run: RunView): ActionSpec[] {
  const s = run.state;
  const specs: ActionSpec[] = [];
  if (s === "paused" || s === "snoozed") {
    specs.push({
      label: "Resume",
      need: "operator",
      title: "Resume this run",
      explain: `The run goes back to running and starts its next steps. (POST …/resume; the run is ${s}.)`,
      reason: "optional",
      run: (reason) => api.post(runPath(run, "resume"), withReason(reason)),
      done: ctx.reload,
    });
  }
  if (s === "running" || s === "snoozed") {
    specs.push({
      label: "Pause",
      need: "operator",
      title: "Pause this run",
      explain:
        "No new step starts until someone resumes the run; steps already running finish. (POST …/pause)",
      reason: "optional",
      run: (reason) => api.post(runPath(run, "pause"), withReason(reason)),
      done: ctx.reload,
    });
  }
  if (s === "running" || s === "paused") {
    specs.push({
      label: "Snooze",
      need: "operator",
      title: "Snooze this run",
      explain:
        "Like pause, then the run resumes by itself at the time you give (UTC, in the future). The snooze takes no reason. (POST …/snooze)",
      reason: "none",
      fields: [
        {
          name: "until",
          label: "Resume at (UTC)",
          type: "datetime-local",
          value: utcInput(new Date(Date.now() + 3_600_000).toISOString()),
          required: true,
        },
      ],
      run: (_reason, v) => api.post(runPath(run, "snooze"), { until: fromUtcInput(v.until ?? "") }),
      done: ctx.reload,
    });
  }
  if (s === "running" || s === "paused" || s === "snoozed") {
    specs.push({
      label: "Escalate",
      need: "operator",
      title: "Escalate this run",
      explain: `Raises the run's priority (now ${run.priority}; 0–1000, higher runs first) and flags it escalated; its queued step tasks move up their queues at once. (POST …/escalate)`,
      reason: "optional",
      fields: [{ name: "priority", label: "New priority, 0–1000 (empty: current + 100)", type: "number" }],
      run: (reason, v) =>
        api.post(runPath(run, "escalate"), {
          ...withReason(reason),
          ...(v.priority ? { priority: Number(v.priority) } : {}),
        }),
      done: ctx.reload,
    });
    specs.push({
      label: "Cancel run",
      need: "operator",
      danger: true,
      title: "Cancel this run",
      explain:
        "Ends the run for good: running steps' tasks are cancelled (their agents are told to stop) and pending steps never start. It cannot be resumed. (POST …/cancel)",
      reason: "optional",
      run: (reason) => api.post(runPath(run, "cancel"), withReason(reason)),
      done: ctx.reload,
    });
  }
  return specs;
}

/** The buttons of one step: retry, skip, and approve or reject a budget the step waits on. */
export function stepActions(
  ctx: PageContext,
  run: RunView,
  step: StepView,
  waitingForBudget: boolean,
): HTMLElement | null {
  const path = (action: string) => `/api/pipelines/runs/${run.id}/steps/${step.id}/${action}`;
  const specs: ActionSpec[] = [];
  // A failed run is still open to step actions: a retry or a skip makes it run again.
  const runOpen = run.state !== "completed" && run.state !== "cancelled";
  if (waitingForBudget) {
    const decide = (verb: "approve" | "reject"): ActionSpec => ({
      label: verb === "approve" ? "Approve budget" : "Reject budget",
      need: "operator",
      danger: verb === "reject",
      title: `${verb === "approve" ? "Approve" : "Reject"} going over the budget: step ${step.name}`,
      explain:
        verb === "approve"
          ? "The step waits because the run is over a hard budget limit that asks for approval. Approving lets the step (and the run) go on spending. Your reason is recorded as the decision's comment."
          : "The step waits because the run is over a hard budget limit that asks for approval. Rejecting fails the step, and with it the run. Your reason is recorded as the decision's comment.",
      reason: "optional",
      run: (reason) => api.post(path(`${verb}-budget`), reason ? { comment: reason } : {}),
      done: ctx.reload,
    });
    specs.push(decide("approve"), decide("reject"));
  }
  if (step.state === "failed" && runOpen) {
    specs.push({
      label: "Retry",
      need: "operator",
      title: `Retry step ${step.name}`,
      explain: `Runs the failed step again as a new generation (a new task)${run.state === "failed" ? "; the failed run becomes running again" : ""}. (POST …/steps/${step.id}/retry)`,
      reason: "optional",
      run: (reason) => api.post(path("retry"), withReason(reason)),
      done: ctx.reload,
    });
  }
  const skippable = ["pending", "running", "failed"].includes(step.state);
  if (skippable && runOpen) {
    specs.push({
      label: "Skip",
      need: "operator",
      danger: step.state === "running",
      title: `Skip step ${step.name}`,
      explain: `The step counts as done without output${step.state === "running" ? " (its running task is cancelled)" : ""}, and the steps after it go on. (POST …/steps/${step.id}/skip)`,
      reason: "required",
      run: (reason) => api.post(path("skip"), { reason }),
      done: ctx.reload,
    });
  }
  const buttons = specs.map((s) => actionButton(ctx.session, s)).filter((b): b is HTMLElement => b !== null);
  return buttons.length
    ? h("div", { class: "actions", role: "group", "aria-label": `Actions on ${step.name}` }, buttons)
    : null;
}
