import type { Static } from "typebox";
import type {
  ArtifactList as ArtifactListSchema,
  ArtifactWithContent as ArtifactSchema,
  ConversationList as ConversationListSchema,
  ConversationWithMessages as ConversationSchema,
} from "../../../contract/schemas/artifacts.ts";
import type { LlmCallView, RunLlmCallsReply } from "../../../contract/schemas/llm.ts";
import { api } from "../api.ts";
import { badge, errorBox, fill, h, link, table, tile } from "../dom.ts";
import { count, duration, short, time, usd } from "../format.ts";

/** The run page's artifacts, conversations and LLM calls: each read on its own, each with its own error. */

type ArtifactList = Static<typeof ArtifactListSchema>;
type Artifact = Static<typeof ArtifactSchema>;
type ConversationList = Static<typeof ConversationListSchema>;
type Conversation = Static<typeof ConversationSchema>;

export async function artifacts(runId: string): Promise<{ key: unknown; draw: () => HTMLElement }> {
  const reply = await api.get<ArtifactList>(`/api/pipelines/runs/${runId}/artifacts`);
  return {
    key: reply,
    draw: () =>
      table(
        reply.artifacts,
        [
          { head: "Title", cell: (a) => a.title },
          { head: "Type", cell: (a) => h("span", { class: "mono" }, a.type) },
          { head: "Step", cell: (a) => a.stepId ?? "the run" },
          { head: "Size", cell: (a) => `${count(a.bytes)} bytes`, num: true },
          { head: "By", cell: (a) => a.createdBy },
          { head: "Created", cell: (a) => time(a.createdAt) },
          { head: "Content", cell: (a) => lazy("Show content", () => artifactContent(a.id)) },
        ],
        "No artifacts: no step of this run has stored one.",
      ),
  };
}

async function artifactContent(id: string): Promise<HTMLElement> {
  const a = await api.get<Artifact>(`/api/artifacts/${id}`);
  const max = 20_000;
  return h(
    "div",
    null,
    h("pre", { class: "json" }, a.content.length > max ? a.content.slice(0, max) : a.content),
    a.content.length > max
      ? h("p", { class: "help" }, `First ${count(max)} of ${count(a.content.length)} characters.`)
      : null,
  );
}

export async function conversations(runId: string): Promise<{ key: unknown; draw: () => HTMLElement }> {
  const reply = await api.get<ConversationList>(`/api/pipelines/runs/${runId}/conversations`);
  return {
    key: reply,
    draw: () =>
      table(
        reply.conversations,
        [
          { head: "Title", cell: (c) => c.title },
          { head: "Step", cell: (c) => c.stepId },
          { head: "State", cell: (c) => badge(c.state) },
          { head: "Messages", cell: (c) => count(c.messages), num: true },
          { head: "Completes its step", cell: (c) => (c.completesStep ? "yes" : "no") },
          { head: "Opened", cell: (c) => time(c.createdAt) },
          { head: "Summary", cell: (c) => c.summary ?? "—" },
          { head: "Thread", cell: (c) => lazy("Show messages", () => conversationMessages(c.id)) },
        ],
        "No conversations in this run.",
      ),
  };
}

async function conversationMessages(id: string): Promise<HTMLElement> {
  const c = await api.get<Conversation>(`/api/conversations/${id}`);
  return h(
    "div",
    null,
    c.messageCount > c.messages.length
      ? h("p", { class: "help" }, `The latest ${c.messages.length} of ${count(c.messageCount)} messages.`)
      : null,
    c.messages.length === 0
      ? h("p", { class: "empty" }, "No messages.")
      : h(
          "ol",
          { class: "timeline" },
          c.messages.map((m) =>
            h(
              "li",
              null,
              h("span", { class: "help" }, `${time(m.at)} · ${m.role} · ${m.author}`),
              h("div", null, m.content),
            ),
          ),
        ),
  );
}

/** A details element whose body is read when first opened. */
function lazy(label: string, read: () => Promise<HTMLElement>): HTMLElement {
  const body = h("div", null, "Loading…");
  let asked = false;
  const el = h("details", null, h("summary", null, label), body);
  el.addEventListener("toggle", () => {
    if (!el.open || asked) return;
    asked = true;
    read().then(
      (node) => fill(body, node),
      (e) => {
        asked = false;
        fill(body, errorBox(e));
      },
    );
  });
  return el;
}

const SHOWN_CALLS = 50;
const MAX_PAGES = 20;

/** Every recorded LLM call of the run (paged by `before`, 500 a page), their totals, by step, and the newest ones. */
export async function llmCalls(runId: string): Promise<{ key: unknown; draw: () => HTMLElement }> {
  const calls: LlmCallView[] = [];
  let before: string | undefined;
  let total = 0;
  let complete = false;
  for (let i = 0; i < MAX_PAGES; i += 1) {
    const page = await api.get<RunLlmCallsReply>(`/api/pipelines/runs/${runId}/llm-calls`, {
      limit: 500,
      before,
    });
    calls.push(...page.calls);
    total = page.total;
    if (!page.nextBefore) {
      complete = true;
      break;
    }
    before = page.nextBefore;
  }
  return { key: [total, calls.length, calls[0]?.id], draw: () => drawCalls(calls, total, complete) };
}

interface Sum {
  calls: number;
  errors: number;
  input: number;
  output: number;
  usd: number;
  unpriced: number;
  estimated: number;
}

function sum(calls: LlmCallView[]): Sum {
  const s: Sum = { calls: 0, errors: 0, input: 0, output: 0, usd: 0, unpriced: 0, estimated: 0 };
  for (const c of calls) {
    s.calls += 1;
    if (c.status === "error") s.errors += 1;
    s.input += c.inputTokens;
    s.output += c.outputTokens;
    s.usd += c.costUsd;
    if (!c.priced) s.unpriced += 1;
    if (c.tokensCounted) s.estimated += 1;
  }
  return s;
}

function drawCalls(calls: LlmCallView[], total: number, complete: boolean): HTMLElement {
  if (calls.length === 0) return h("p", { class: "empty" }, "No LLM calls recorded for this run.");
  const all = sum(calls);
  const bySteps = new Map<string, LlmCallView[]>();
  for (const c of calls) bySteps.set(c.stepId ?? "", [...(bySteps.get(c.stepId ?? "") ?? []), c]);
  return h(
    "div",
    null,
    complete
      ? null
      : h(
          "p",
          { class: "help" },
          `Totals of the newest ${count(calls.length)} of ${count(total)} calls (read no further).`,
        ),
    h(
      "div",
      { class: "tiles" },
      tile("LLM calls", count(all.calls)),
      tile("cost (USD)", usd(all.usd), "sum of each call's reported costUsd"),
      tile("input tokens", count(all.input)),
      tile("output tokens", count(all.output)),
      tile("failed calls", count(all.errors)),
      tile("calls without a price (cost 0)", count(all.unpriced)),
    ),
    all.estimated > 0
      ? h(
          "p",
          { class: "help" },
          `Tokens of ${count(all.estimated)} of these calls were counted by the client, not reported by the provider.`,
        )
      : null,
    h("h3", null, "By step"),
    table(
      [...bySteps.entries()].map(([step, cs]) => ({ step, s: sum(cs) })),
      [
        { head: "Step", cell: (r) => r.step || "outside any step" },
        { head: "Calls", cell: (r) => count(r.s.calls), num: true },
        { head: "Input tokens", cell: (r) => count(r.s.input), num: true },
        { head: "Output tokens", cell: (r) => count(r.s.output), num: true },
        { head: "Cost (USD)", cell: (r) => usd(r.s.usd), num: true },
      ],
      "No calls.",
    ),
    h(
      "h3",
      null,
      calls.length > SHOWN_CALLS
        ? `The newest ${SHOWN_CALLS} of ${count(total)} calls`
        : "Calls, newest first",
    ),
    table(
      calls.slice(0, SHOWN_CALLS),
      [
        { head: "At", cell: (c) => time(c.at) },
        { head: "Step", cell: (c) => c.stepId ?? "—" },
        {
          head: "Model",
          cell: (c) => [
            `${c.provider} / ${c.model}`,
            c.source !== c.provider ? h("div", { class: "help" }, `answered by ${c.source}`) : null,
          ],
        },
        { head: "Status", cell: (c) => [badge(c.status), c.errorType ? ` ${c.errorType}` : null] },
        {
          head: "Tokens in / out",
          cell: (c) =>
            `${count(c.inputTokens)} / ${count(c.outputTokens)}${c.tokensCounted ? " (est.)" : ""}`,
          num: true,
        },
        { head: "Cost (USD)", cell: (c) => (c.priced ? usd(c.costUsd) : "no price"), num: true },
        { head: "Latency", cell: (c) => duration(c.latencyMs), num: true },
        { head: "Agent", cell: (c) => link(`#/agents/${c.agentId}`, `${c.role} ${short(c.agentId)}`) },
      ],
      "No calls.",
    ),
    h(
      "p",
      { class: "help" },
      "Prompts and responses are not shown here: an operator exports them with GET /api/llm/export?runId=…",
    ),
  );
}
