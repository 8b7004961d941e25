import type { BudgetVerdict } from "../budgets/budget-decision.ts";
import type { BuiltinStepName } from "./template-types.ts";

export interface BuiltinContext {
  /** The budget step's verdict, decided from recorded spend before the step runs. */
  budget?: BudgetVerdict;
  runId: string;
  template: string;
  input: Record<string, unknown>;
  params: Record<string, unknown>;
  /** Outputs of completed steps, by step id. */
  outputs: Record<string, unknown>;
}

export type BuiltinResult =
  | { ok: true; output: unknown; artifact?: { type: string; title: string; content: string } }
  | { ok: false; error: { message: string; category: string }; output?: unknown }
  /** Not done yet: the step stays running with this message, and a later pass decides again. */
  | { ok: "wait"; message: string; output: unknown };

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
      const verdict = ctx.budget;
      if (!verdict) {
        return { ok: false, error: { message: "budget verdict missing (daemon bug)", category: "internal" } };
      }
      if (verdict.kind === "pass") return { ok: true, output: verdict.output };
      if (verdict.kind === "await_approval")
        return { ok: "wait", message: verdict.message, output: verdict.output };
      return {
        ok: false,
        error: { message: verdict.message, category: "budget_exceeded" },
        output: verdict.output,
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
