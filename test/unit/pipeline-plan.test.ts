import { describe, expect, it } from "vitest";
import { conditionHolds, readPath } from "../../daemon/pipelines/condition.ts";
import { planRun, type RunState, type StepState, type StepStatus } from "../../daemon/pipelines/run-plan.ts";
import type { StepCondition, StepDefinition } from "../../daemon/pipelines/template-types.ts";

const step = (id: string, dependsOn: string[] = [], condition?: StepCondition): StepDefinition => ({
  id,
  name: id,
  executor: { kind: "agent", capability: `cap.${id}` },
  dependsOn,
  ...(condition ? { condition } : {}),
});

/** Every step pending unless given; `outputs` sets the output of completed steps. */
function status(
  steps: StepDefinition[],
  states: Record<string, StepState> = {},
  outputs: Record<string, unknown> = {},
): Map<string, StepStatus> {
  return new Map(
    steps.map((s) => [s.id, { id: s.id, state: states[s.id] ?? "pending", output: outputs[s.id] }]),
  );
}

const plan = (
  steps: StepDefinition[],
  states: Record<string, StepState> = {},
  runState: RunState = "running",
  outputs: Record<string, unknown> = {},
) => planRun(steps, status(steps, states, outputs), runState);

describe("planRun", () => {
  const seq = [step("a"), step("b", ["a"]), step("c", ["b"])];

  it("runs a sequence one step at a time and completes once all are done", () => {
    expect(plan(seq)).toEqual({ start: ["a"], skip: [] });
    expect(plan(seq, { a: "running" })).toEqual({ start: [], skip: [] });
    expect(plan(seq, { a: "completed" })).toEqual({ start: ["b"], skip: [] });
    expect(plan(seq, { a: "completed", b: "running" })).toEqual({ start: [], skip: [] });
    expect(plan(seq, { a: "completed", b: "completed" })).toEqual({ start: ["c"], skip: [] });
    expect(plan(seq, { a: "completed", b: "completed", c: "completed" })).toEqual({
      start: [],
      skip: [],
      finish: { state: "completed", failedSteps: [] },
    });
  });

  it("is level-triggered: the same input gives the same plan", () => {
    const s = status(seq, { a: "completed" });
    expect(planRun(seq, s, "running")).toEqual(planRun(seq, s, "running"));
  });

  it("fans out: every step whose dependencies are done starts together", () => {
    const steps = [step("a"), step("b", ["a"]), step("c", ["a"]), step("d", ["a"])];
    expect(plan(steps, { a: "completed" }).start).toEqual(["b", "c", "d"]);
    // Independent roots start together too.
    expect(plan([step("x"), step("y"), step("z", ["x", "y"])]).start).toEqual(["x", "y"]);
  });

  it("fans in: a join waits for all its dependencies", () => {
    const steps = [step("a"), step("b", ["a"]), step("c", ["a"]), step("d", ["b", "c"])];
    expect(plan(steps, { a: "completed", b: "completed", c: "running" }).start).toEqual([]);
    expect(plan(steps, { a: "completed", b: "completed", c: "pending" }).start).toEqual(["c"]);
    expect(plan(steps, { a: "completed", b: "completed", c: "completed" }).start).toEqual(["d"]);
    // A skipped dependency counts as done.
    expect(plan(steps, { a: "completed", b: "skipped", c: "completed" }).start).toEqual(["d"]);
  });

  describe("conditions", () => {
    const steps = [
      step("a"),
      step("b", ["a"], { step: "a", path: "kind", op: "equals", value: "deep" }),
      step("c", ["a"]),
    ];

    it("starts a step whose condition holds", () => {
      const p = plan(steps, { a: "completed" }, "running", { a: { kind: "deep" } });
      expect(p).toEqual({ start: ["b", "c"], skip: [] });
    });

    it("skips a step whose condition is false, with a reason", () => {
      const p = plan(steps, { a: "completed" }, "running", { a: { kind: "shallow" } });
      expect(p.start).toEqual(["c"]);
      expect(p.skip).toEqual([{ id: "b", reason: "condition on a not met" }]);
      expect(p.finish).toBeUndefined();
    });

    it("cascades: a skip unblocks dependants in the same plan, which may be skipped in turn", () => {
      const chain = [
        step("a"),
        step("b", ["a"], { step: "a", path: "go", op: "truthy" }),
        step("c", ["b"], { step: "a", path: "go", op: "truthy" }),
        step("d", ["c"]),
      ];
      const p = plan(chain, { a: "completed" }, "running", { a: { go: false } });
      expect(p.skip.map((s) => s.id)).toEqual(["b", "c"]);
      // d has no condition: the skips before it count as done.
      expect(p.start).toEqual(["d"]);
      expect(p.finish).toBeUndefined();
    });

    it("completes the run when the remaining steps are all skipped", () => {
      const tail = [step("a"), step("b", ["a"], { step: "a", op: "exists" })];
      const p = plan(tail, { a: "completed" }, "running", { a: null });
      expect(p.skip.map((s) => s.id)).toEqual(["b"]);
      expect(p.finish).toEqual({ state: "completed", failedSteps: [] });
    });

    it("evaluates a condition only once its step is done", () => {
      expect(plan(steps, { a: "running" })).toEqual({ start: [], skip: [] });
    });
  });

  describe("failure", () => {
    const steps = [step("a"), step("b", ["a"]), step("c", ["a"]), step("d", ["b"]), step("e", ["c"])];

    it("blocks the failed step's dependants while other branches go on", () => {
      const p = plan(steps, { a: "completed", b: "failed", c: "completed" });
      expect(p.start).toEqual(["e"]);
      expect(p.finish).toBeUndefined();
      expect(plan(steps, { a: "completed", b: "failed", c: "completed", e: "running" })).toEqual({
        start: [],
        skip: [],
      });
    });

    it("fails the run only once the other branches are done, naming the failed steps", () => {
      expect(plan(steps, { a: "completed", b: "failed", c: "running" }).finish).toBeUndefined();
      const p = plan(steps, { a: "completed", b: "failed", c: "completed", e: "completed" });
      expect(p).toEqual({ start: [], skip: [], finish: { state: "failed", failedSteps: ["b"] } });
      // d never started.
      const twice = plan(steps, { a: "completed", b: "failed", c: "failed" });
      expect(twice.finish).toEqual({ state: "failed", failedSteps: ["b", "c"] });
    });
  });

  it("a paused or snoozed run starts nothing", () => {
    for (const runState of ["paused", "snoozed"] as RunState[]) {
      expect(plan(seq, {}, runState).start, runState).toEqual([]);
      expect(plan(seq, { a: "completed" }, runState).start, runState).toEqual([]);
      expect(plan(seq, { a: "completed" }, runState).finish, runState).toBeUndefined();
    }
  });

  it("a finished run does nothing", () => {
    for (const runState of ["completed", "failed", "cancelled"] as RunState[]) {
      expect(plan(seq, {}, runState), runState).toEqual({ start: [], skip: [] });
      expect(plan(seq, { a: "completed", b: "completed", c: "completed" }, runState), runState).toEqual({
        start: [],
        skip: [],
      });
    }
  });
});

describe("conditions", () => {
  const outputs = {
    a: { intent: { kind: "search", tags: ["x", "y"] }, n: 0, ok: true, nothing: null },
    b: "plain",
  };
  const holds = (c: StepCondition) => conditionHolds(c, outputs);

  it("reads dot paths, including array indexes; missing parts are undefined", () => {
    expect(readPath(outputs.a, "intent.kind")).toBe("search");
    expect(readPath(outputs.a, "intent.tags.1")).toBe("y");
    expect(readPath(outputs.a, "")).toBe(outputs.a);
    expect(readPath(outputs.a, undefined)).toBe(outputs.a);
    expect(readPath(outputs.a, "intent.missing.deeper")).toBeUndefined();
    expect(readPath(outputs.a, "n.x")).toBeUndefined();
    expect(readPath(null, "x")).toBeUndefined();
  });

  it("equals / notEquals compare JSON values", () => {
    expect(holds({ step: "a", path: "intent.kind", op: "equals", value: "search" })).toBe(true);
    expect(holds({ step: "a", path: "intent.kind", op: "equals", value: "report" })).toBe(false);
    expect(holds({ step: "a", path: "intent.tags", op: "equals", value: ["x", "y"] })).toBe(true);
    expect(holds({ step: "b", op: "equals", value: "plain" })).toBe(true);
    expect(holds({ step: "a", path: "intent.kind", op: "notEquals", value: "report" })).toBe(true);
    expect(holds({ step: "a", path: "intent.kind", op: "notEquals", value: "search" })).toBe(false);
    expect(holds({ step: "a", path: "n", op: "equals", value: "0" })).toBe(false);
  });

  it("in needs an array value holding the actual value", () => {
    expect(holds({ step: "a", path: "intent.kind", op: "in", value: ["report", "search"] })).toBe(true);
    expect(holds({ step: "a", path: "intent.kind", op: "in", value: ["report"] })).toBe(false);
    expect(holds({ step: "a", path: "intent.kind", op: "in", value: "search" })).toBe(false);
  });

  it("exists is false only for missing or null; truthy follows JavaScript truthiness", () => {
    expect(holds({ step: "a", path: "n", op: "exists" })).toBe(true);
    expect(holds({ step: "a", path: "nothing", op: "exists" })).toBe(false);
    expect(holds({ step: "a", path: "ghost", op: "exists" })).toBe(false);
    expect(holds({ step: "zz", op: "exists" })).toBe(false);
    expect(holds({ step: "a", path: "ok", op: "truthy" })).toBe(true);
    expect(holds({ step: "a", path: "n", op: "truthy" })).toBe(false);
    expect(holds({ step: "a", path: "ghost", op: "truthy" })).toBe(false);
  });
});
