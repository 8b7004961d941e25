import { actionBar } from "../actions.ts";
import { api } from "../api.ts";
import { badge, errorBox, fill, h, json, kv, link, messageOf } from "../dom.ts";
import { duration, short, time } from "../format.ts";
import { grafanaLink } from "../grafana.ts";
import type { Page, PageContext } from "../router.ts";
import { runActions } from "./run-actions.ts";
import {
  drawIfChanged,
  eta,
  liveRefresh,
  type PendingApprovals,
  progress,
  type RunView,
  section,
  type WorkflowDetails,
} from "./run-common.ts";
import { artifacts, conversations, llmCalls } from "./run-extras.ts";
import { auditTable, stepsTable, timeline } from "./run-sections.ts";

/**
 * One pipeline run: reads `GET /api/workflow/:id/details` (the run view with steps and timeline, and
 * the operator actions taken), `GET /api/budgets/approvals`, and the run's artifacts, conversations
 * and LLM calls (`GET /api/pipelines/runs/:id/{artifacts,conversations,llm-calls}`); live on its
 * `pipeline.*` and `conversation.*` events.
 */
export const runPage: Page = {
  pattern: "/runs/:id",
  title: "Run",
  under: "/runs",
  async render(ctx: PageContext) {
    const id = ctx.params.id ?? "";
    const head = h("div");
    const grafana = h("p");
    const bar = h("div");
    const steps = h("div");
    const events = h("div");
    const arts = h("div", null, "Loading…");
    const convs = h("div", null, "Loading…");
    const calls = h("div", null, "Loading…");
    const audit = h("div");
    const status = h("p", { class: "live", "aria-live": "off" });
    const page = [
      h("p", null, link("#/runs", "← All runs")),
      h("h1", null, "Run ", h("span", { class: "mono" }, short(id))),
      head,
      grafana,
      bar,
      section("Steps", steps),
      section("Timeline", h("p", { class: "help" }, "What happened to the run, oldest first."), events),
      section("Artifacts", arts),
      section("Conversations", convs),
      section("LLM calls and cost", calls),
      section("Operator actions taken", audit),
      status,
    ];

    const load = async () => {
      const [details, approvals] = await Promise.all([
        api.get<WorkflowDetails>(`/api/workflow/${id}/details`),
        api.get<PendingApprovals>("/api/budgets/approvals").catch((e: unknown) => new Error(messageOf(e))),
      ]);
      const run = details.run;
      document.title = `Run ${short(id)} (${run.state}) · Overseer`;
      const waiting = new Set(
        approvals instanceof Error
          ? []
          : approvals.pending.filter((p) => p.runId === id).map((p) => p.stepId),
      );
      fill(head, header(run, waiting.size > 0));
      drawIfChanged(grafana, [run.template, run.createdAt, run.finishedAt], () =>
        fill(
          grafana,
          grafanaLink(
            ctx.session,
            "pipelines",
            "This run's time on the pipelines dashboard",
            { template: run.template },
            {
              from: Date.parse(run.createdAt),
              to: run.finishedAt ? Date.parse(run.finishedAt) : "now",
            },
          ),
        ),
      );
      drawIfChanged(bar, [run.state, run.priority], () => fill(bar, actions(ctx, run)));
      drawIfChanged(
        steps,
        [run.steps, [...waiting], approvals instanceof Error ? approvals.message : null],
        () =>
          fill(
            steps,
            approvals instanceof Error
              ? h(
                  "p",
                  { class: "error" },
                  `Budget approvals could not be read (${approvals.message}): a step waiting for one is not marked.`,
                )
              : null,
            stepsTable(ctx, run, waiting),
          ),
      );
      drawIfChanged(events, run.events, () => fill(events, timeline(run)));
      drawIfChanged(audit, details.audit, () => fill(audit, auditTable(details.audit)));
      await Promise.all([
        part(arts, artifacts(id)),
        part(convs, conversations(id)),
        part(calls, llmCalls(id)),
      ]);
    };

    fill(ctx.root, page);
    try {
      await load();
    } catch (e) {
      fill(
        ctx.root,
        h("p", null, link("#/runs", "← All runs")),
        h("h1", null, "Run ", short(id)),
        errorBox(e),
      );
      return;
    }
    liveRefresh(
      ctx,
      (e) =>
        (e.type.startsWith("pipeline.") || e.type.startsWith("conversation.") || e.type === "budget.step") &&
        e.runId === id,
      load,
      status,
    );
  },
};

async function part(
  el: HTMLElement,
  read: Promise<{ key: unknown; draw: () => HTMLElement }>,
): Promise<void> {
  try {
    const r = await read;
    drawIfChanged(el, r.key, () => fill(el, r.draw()));
  } catch (e) {
    drawIfChanged(el, messageOf(e), () => fill(el, errorBox(e)));
  }
}

function header(run: RunView, awaitingBudget: boolean): HTMLElement {
  const error = run.error as { message?: unknown } | null;
  return h(
    "div",
    { class: "card" },
    kv([
      [
        "State",
        [
          badge(run.state),
          run.escalated ? [" ", badge("escalated")] : null,
          run.snoozedUntil ? ` until ${time(run.snoozedUntil)}` : null,
        ],
      ],
      [
        "Template",
        link(
          `#/runs?template=${encodeURIComponent(run.template)}`,
          `${run.template} (version ${run.templateVersion})`,
        ),
      ],
      ["Progress", progress(run.percent)],
      [
        "Current step",
        run.currentStep
          ? [
              run.currentStep.name,
              run.currentStep.message ? h("span", { class: "help" }, ` · ${run.currentStep.message}`) : null,
            ]
          : "none running",
      ],
      ["Elapsed", duration(run.elapsedMs)],
      [
        "ETA",
        awaitingBudget
          ? [
              eta(run),
              h(
                "div",
                { class: "help" },
                "A step waits for a budget approval: the run does not end until someone decides.",
              ),
            ]
          : eta(run),
      ],
      ["Priority", `${run.priority} (0–1000, higher runs first)`],
      ["Created", time(run.createdAt)],
      ["Finished", run.finishedAt ? time(run.finishedAt) : "not yet"],
      [
        "Started by",
        run.scheduleId
          ? link(`#/schedules?id=${run.scheduleId}`, "a schedule")
          : "a direct request (no schedule)",
      ],
      ["Input", h("details", null, h("summary", null, "show"), json(run.input))],
      ...(run.output !== null && run.output !== undefined
        ? [
            ["Output", h("details", null, h("summary", null, "show"), json(run.output))] as [
              string,
              HTMLElement,
            ],
          ]
        : []),
      ...(error
        ? [
            [
              "Error",
              h(
                "div",
                null,
                h("p", { class: "error" }, typeof error.message === "string" ? error.message : "see below"),
                json(error),
              ),
            ] as [string, HTMLElement],
          ]
        : []),
    ]),
  );
}

function actions(ctx: PageContext, run: RunView): HTMLElement {
  const specs = runActions(ctx, run);
  if (specs.length > 0) return actionBar(ctx.session, specs);
  return h(
    "p",
    { class: "help" },
    `This run has ended (${run.state}): pause, resume, snooze, escalate and cancel no longer apply.`,
    run.state === "failed"
      ? " A failed step can still be retried or skipped below, which runs the run again."
      : "",
  );
}
