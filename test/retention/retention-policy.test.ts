import { describe, expect, it } from "vitest";
import { RETENTION_TARGETS, retentionPlan } from "../../daemon/retention/retention-policy.ts";

const H = 3_600_000;

describe("retentionPlan", () => {
  it("gives every target its class's cutoff, in pass order", () => {
    const now = Date.parse("2026-01-10T00:00:00Z");
    const plan = retentionPlan(
      { tasksMs: H, runsMs: 2 * H, historyMs: 3 * H, llmCallsMs: 4 * H, auditMs: 5 * H },
      now,
    );
    expect(plan.map((s) => s.target)).toEqual(RETENTION_TARGETS);
    const cutoff = Object.fromEntries(plan.map((s) => [s.target, (now - s.cutoff.getTime()) / H]));
    expect(cutoff).toEqual({
      tasks: 1,
      pipeline_runs: 2,
      agent_transitions: 3,
      agents: 3,
      schedule_ticks: 3,
      confirmations: 3,
      llm_calls: 4,
      feedback: 4,
      audit_log: 5,
      overrides: 5,
    });
  });

  it("leaves out every class whose keep is 0 (keep forever)", () => {
    expect(retentionPlan({ tasksMs: 0, runsMs: 0, historyMs: 0, llmCallsMs: 0, auditMs: 0 }, 0)).toEqual([]);
    const plan = retentionPlan({ tasksMs: H, runsMs: 0, historyMs: 0, llmCallsMs: 0, auditMs: 0 }, H);
    expect(plan.map((s) => s.target)).toEqual(["tasks"]);
  });

  it("deletes pointing rows before the agents they point at", () => {
    const at = (t: string) => RETENTION_TARGETS.indexOf(t as never);
    for (const t of ["tasks", "pipeline_runs", "llm_calls", "agent_transitions"])
      expect(at(t)).toBeLessThan(at("agents"));
  });
});
