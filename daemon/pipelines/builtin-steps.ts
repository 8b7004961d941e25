import type { BuiltinStepName } from "./template-types.ts";

export interface BuiltinContext {
  runId: string;
  template: string;
  input: Record<string, unknown>;
  params: Record<string, unknown>;
  /** Outputs of completed steps, by step id. */
  outputs: Record<string, unknown>;
}

export type BuiltinResult =
  | { ok: true; output: unknown; artifact?: { type: string; title: string; content: string } }
  | { ok: false; error: { message: string; category: string } };

/** Sums `costUsd` figures the earlier steps reported in their outputs (what agents measured). */
function reportedCostUsd(outputs: Record<string, unknown>): { spentUsd: number; reports: number } {
  let spentUsd = 0;
  let reports = 0;
  for (const out of Object.values(outputs)) {
    const cost = (out as { costUsd?: unknown } | null)?.costUsd;
    if (typeof cost === "number" && Number.isFinite(cost) && cost >= 0) {
      spentUsd += cost;
      reports++;
    }
  }
  return { spentUsd, reports };
}

/**
 * Steps the daemon runs itself: quick, deterministic, no agent needed. Pure: the engine records the
 * result in the same transaction that marks the step done.
 */
export function runBuiltin(name: BuiltinStepName, ctx: BuiltinContext): BuiltinResult {
  switch (name) {
    case "verify-input": {
      const request = ctx.input.request;
      if (typeof request !== "string" || request.trim().length === 0) {
        return {
          ok: false,
          error: { message: "input.request must be a non-empty string", category: "validation" },
        };
      }
      return { ok: true, output: { verified: true, requestLength: request.length } };
    }
    case "budget-check": {
      const { spentUsd, reports } = reportedCostUsd(ctx.outputs);
      const limit = typeof ctx.input.budgetUsd === "number" ? ctx.input.budgetUsd : null;
      if (limit !== null && spentUsd > limit) {
        return {
          ok: false,
          error: { message: `spent ${spentUsd} USD of a ${limit} USD budget`, category: "budget_exceeded" },
        };
      }
      // No limit given: nothing to enforce, and the output says so rather than pretend.
      return {
        ok: true,
        output: { budgetUsd: limit, spentUsd, costReports: reports, enforced: limit !== null },
      };
    }
    case "finalize": {
      const content = JSON.stringify({ input: ctx.input, outputs: ctx.outputs }, null, 2);
      return {
        ok: true,
        output: { steps: Object.keys(ctx.outputs).length, artifactBytes: Buffer.byteLength(content) },
        artifact: { type: "application/json", title: `${ctx.template} run ${ctx.runId} result`, content },
      };
    }
  }
}
