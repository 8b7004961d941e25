import { DASHBOARD_UIDS } from "./config.ts";
import { roleLink } from "./console-links.ts";
import { atMost, type DashboardSpec, nonZeroIsBad } from "./panels.ts";
import { q } from "./queries.ts";

/** LLM usage and cost by model and role, latency and errors, budgets and their enforcement. */
export const llm: DashboardSpec = {
  uid: DASHBOARD_UIDS.llm,
  title: "Overseer / LLM usage, cost and budgets",
  description:
    "Recorded LLM calls: spend, tokens, latency, time to first token, errors; budgets (spend, limits, burn rate), budget-step verdicts, approvals and feedback.",
  variables: ["model", "role"],
  rows: [
    {
      title: "Usage and cost",
      panels: [
        {
          kind: "stat",
          title: "Spend in range",
          description:
            "USD of recorded calls in the time range, at OVERSEER_LLM_PRICING prices (unpriced and self-hosted models count 0).",
          targets: [{ expr: q.spendInRange }],
          unit: "currencyUSD",
          w: 8,
        },
        {
          kind: "stat",
          title: "Tokens in range",
          description: "Input and output tokens of recorded calls in the time range.",
          targets: [{ expr: q.tokensInRange }],
          unit: "short",
          w: 8,
        },
        {
          kind: "stat",
          title: "Calls per second",
          description: "Recorded calls per second.",
          targets: [{ expr: q.callsPerSecond }],
          unit: "ops",
          w: 8,
        },
        {
          kind: "timeseries",
          title: "Cost per hour by model",
          description: "Spend rate in USD per hour, by model.",
          targets: [{ expr: q.costPerHourByModel, legend: "{{model}}" }],
          unit: "currencyUSD",
          stacked: true,
        },
        {
          kind: "timeseries",
          title: "Cost per hour by role",
          description: "Spend rate in USD per hour, by the calling agent's role.",
          targets: [{ expr: q.costPerHourByRole, legend: "{{role}}", links: [roleLink()] }],
          unit: "currencyUSD",
          stacked: true,
        },
        {
          kind: "timeseries",
          title: "Tokens per second",
          description: "By model and type (input, output); estimated counts included.",
          targets: [{ expr: q.tokensByModelType, legend: "{{model}} {{type}}" }],
          unit: "short",
        },
      ],
    },
    {
      title: "Latency and errors",
      panels: [
        {
          kind: "timeseries",
          title: "Call latency",
          description:
            "Wall time of recorded calls as the caller saw it (retries and backoff included), p50 and p95.",
          targets: [
            { expr: q.callLatencyP50, legend: "{{model}} p50" },
            { expr: q.callLatencyP95, legend: "{{model}} p95" },
          ],
          unit: "s",
        },
        {
          kind: "timeseries",
          title: "Time to first token p95",
          description: "Streaming calls only.",
          targets: [{ expr: q.ttftP95, legend: "{{model}}" }],
          unit: "s",
        },
        {
          kind: "timeseries",
          title: "Error ratio by model",
          noValue: "no LLM calls in range",
          description: "Calls with status error / all recorded calls.",
          targets: [{ expr: q.llmErrorRatio, legend: "{{model}}" }],
          unit: "percentunit",
          min: 0,
        },
        {
          kind: "timeseries",
          title: "Errors by type",
          description:
            "Failed calls by model and the SDK's error type (timeout, rate_limited, server_error, …).",
          targets: [{ expr: q.llmErrorsByType, legend: "{{model}} {{error_type}}" }],
          w: 24,
        },
      ],
    },
    {
      title: "Budgets",
      panels: [
        {
          kind: "stat",
          title: "Highest hard-limit use",
          description: "The most used hard limit of any budget (1 = used up; alert above 0.9).",
          targets: [{ expr: q.budgetHardUsedMax }],
          unit: "percentunit",
          steps: atMost(0.7, 0.9),
          noValue: "no hard limits",
          w: 8,
        },
        {
          kind: "stat",
          title: "Approvals pending",
          description: "Mission budget steps waiting for an operator: GET /api/budgets/approvals.",
          targets: [{ expr: q.approvalsPending }],
          steps: nonZeroIsBad,
          w: 8,
        },
        {
          kind: "table",
          title: "Budget spend",
          noValue: "no budget configured",
          description: "Each budget's spend in its current UTC day or month, in USD.",
          targets: [{ expr: q.budgetSpent }],
          w: 8,
        },
        {
          kind: "timeseries",
          title: "Budget use by limit",
          noValue: "no budget configured",
          description: "Spend / limit for each budget's soft and hard limit.",
          targets: [{ expr: q.budgetUsed, legend: "{{scope}} {{target}} {{period}} {{limit}}" }],
          unit: "percentunit",
          steps: atMost(0.9, 1),
        },
        {
          kind: "timeseries",
          title: "Spend and limits",
          noValue: "no budget configured",
          description: "Spend of each budget's scope this period, and its limits (USD).",
          targets: [
            { expr: q.budgetSpent, legend: "{{scope}} {{target}} {{period}} spent" },
            { expr: q.budgetLimit, legend: "{{scope}} {{target}} {{period}} {{limit}} limit" },
          ],
          unit: "currencyUSD",
        },
        {
          kind: "timeseries",
          title: "Burn rate",
          noValue: "no budget configured",
          description:
            "(spent / limit) / elapsed share of the period: 1 spends exactly the limit, 2 spends it by mid-period.",
          targets: [{ expr: q.budgetBurnRate, legend: "{{scope}} {{target}} {{period}}" }],
          steps: atMost(1, 2),
        },
        {
          kind: "timeseries",
          title: "Budget-step verdicts",
          description:
            "Verdicts of mission budget steps: pass, warn, block, await_approval, approved, rejected.",
          targets: [{ expr: q.budgetStepOutcomes, legend: "{{outcome}}" }],
          w: 12,
        },
        {
          kind: "table",
          title: "Feedback in range",
          description:
            "Ratings recorded in the time range by what was rated (run, step, llm_call) and score (1–5).",
          targets: [{ expr: q.feedbackByScore }],
          w: 12,
        },
      ],
    },
  ],
};
