import { describe, expect, it } from "vitest";
import { isOverseerError } from "../../daemon/errors/overseer-error.ts";
import { MISSION_TEMPLATE, STORY_TEMPLATE } from "../../daemon/pipelines/builtin-templates.ts";
import type { StepDefinition, TemplateDefinition } from "../../daemon/pipelines/template-types.ts";
import {
  ancestors,
  resolveInput,
  topologicalOrder,
  validateTemplate,
} from "../../daemon/pipelines/template-validation.ts";

const agent = (id: string, dependsOn?: string[], extra: Partial<StepDefinition> = {}): StepDefinition => ({
  id,
  name: id.toUpperCase(),
  executor: { kind: "agent", capability: `cap.${id}` },
  ...(dependsOn ? { dependsOn } : {}),
  ...extra,
});

const tpl = (steps: StepDefinition[], extra: Partial<TemplateDefinition> = {}): TemplateDefinition => ({
  name: "t",
  steps,
  ...extra,
});

/** The problems listed by the one error validateTemplate throws (fails the test when it does not throw). */
function problemsOf(def: TemplateDefinition): string[] {
  let thrown: unknown;
  try {
    validateTemplate(def);
  } catch (e) {
    thrown = e;
  }
  expect(isOverseerError(thrown, "OVS_ERR_TEMPLATE_INVALID"), String(thrown)).toBe(true);
  const err = thrown as { status: number; details?: { problems?: string[] }; message: string };
  expect(err.status).toBe(400);
  const problems = err.details?.problems ?? [];
  expect(problems.length).toBeGreaterThan(0);
  // The message names every problem too (what the 400 says).
  for (const p of problems) expect(err.message).toContain(p);
  return problems;
}

const ids = (steps: StepDefinition[] | null) => steps?.map((s) => s.id) ?? null;

describe("validateTemplate", () => {
  it("accepts a DAG and returns its steps in a topological order", () => {
    const order = validateTemplate(tpl([agent("c", ["b"]), agent("b", ["a"]), agent("a")]));
    expect(ids(order)).toEqual(["a", "b", "c"]);
  });

  it("accepts both built-in templates", () => {
    expect(ids(validateTemplate(MISSION_TEMPLATE))).toEqual([
      "verification",
      "intent",
      "budget",
      "tool_selection",
      "tool_execution",
      "finalize",
    ]);
    const story = ids(validateTemplate(STORY_TEMPLATE)) as string[];
    expect(story).toHaveLength(8);
    expect(story[0]).toBe("requirements");
    expect(story.at(-1)).toBe("review");
  });

  it("rejects a cycle", () => {
    const problems = problemsOf(tpl([agent("a", ["c"]), agent("b", ["a"]), agent("c", ["b"])]));
    expect(problems).toEqual(["steps form a cycle (dependsOn must be a DAG)"]);
  });

  it("rejects a dependency on an unknown step", () => {
    expect(problemsOf(tpl([agent("a"), agent("b", ["ghost"])]))).toEqual([
      'step "b" depends on unknown step "ghost"',
    ]);
  });

  it("rejects a step that depends on itself", () => {
    const problems = problemsOf(tpl([agent("a"), agent("b", ["a", "b"])]));
    expect(problems).toContain('step "b" depends on itself');
    expect(problems).toContain("steps form a cycle (dependsOn must be a DAG)");
  });

  it("rejects duplicate step ids", () => {
    expect(problemsOf(tpl([agent("a"), agent("a")]))).toContain('step id "a" is used twice');
  });

  it("rejects bands on some steps but not on others", () => {
    expect(problemsOf(tpl([agent("a", undefined, { band: [0, 50] }), agent("b", ["a"])]))).toEqual([
      "either every step has a progress band or none does",
    ]);
  });

  it("rejects bad bands", () => {
    for (const band of [
      [50, 50],
      [60, 40],
      [-1, 10],
      [10, 101],
    ] as Array<[number, number]>) {
      expect(problemsOf(tpl([agent("a", undefined, { band })])), JSON.stringify(band)).toEqual([
        'step "a": band must satisfy 0 <= from < to <= 100',
      ]);
    }
    // Edges are fine.
    expect(() => validateTemplate(tpl([agent("a", undefined, { band: [0, 100] })]))).not.toThrow();
  });

  it("rejects an unknown built-in step", () => {
    const problems = problemsOf(
      tpl([{ id: "a", name: "A", executor: { kind: "builtin", name: "rm-rf" as "finalize" } }]),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^step "a": unknown built-in step "rm-rf" \(known: verify-input, /);
  });

  it("rejects a condition on a step that is not an ancestor", () => {
    const problems = problemsOf(
      tpl([
        agent("a"),
        agent("b", ["a"]),
        // c does not depend on b: b's output may not exist when c starts.
        agent("c", ["a"], { condition: { step: "b", op: "truthy" } }),
      ]),
    );
    expect(problems).toEqual([
      'step "c": its condition must refer to a step it depends on (directly or not)',
    ]);
    // An indirect ancestor is fine.
    expect(() =>
      validateTemplate(
        tpl([agent("a"), agent("b", ["a"]), agent("c", ["b"], { condition: { step: "a", op: "truthy" } })]),
      ),
    ).not.toThrow();
  });

  it("rejects a parameter default that does not fit its type", () => {
    const problems = problemsOf(
      tpl([agent("a")], {
        parameters: {
          n: { type: "number", default: "three" },
          list: { type: "array", default: { not: "an array" } },
          ok: { type: "boolean", default: false },
        },
      }),
    );
    expect(problems).toEqual([
      'parameter "n": default is not a number',
      'parameter "list": default is not a array',
    ]);
  });

  it("lists every problem in one error", () => {
    const problems = problemsOf({
      name: "Bad Name",
      parameters: { n: { type: "number", default: "x" } },
      steps: [
        agent("a", undefined, { band: [0, 10] }),
        agent("a"),
        agent("b", ["ghost", "b"], { weight: 0 }),
        { id: "c", name: "C", executor: { kind: "builtin", name: "nope" as "finalize" } },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^name must match/),
        'step id "a" is used twice',
        "either every step has a progress band or none does",
        'step "b" depends on unknown step "ghost"',
        'step "b" depends on itself',
        'step "b": weight must be a positive number',
        expect.stringMatching(/^step "c": unknown built-in step "nope"/),
        "steps form a cycle (dependsOn must be a DAG)",
        'parameter "n": default is not a number',
      ]),
    );
    expect(problems).toHaveLength(9);
  });

  it("rejects a template without steps and bad ids or capabilities", () => {
    expect(problemsOf(tpl([]))).toEqual(["a template needs at least one step"]);
    const problems = problemsOf(
      tpl([{ id: "Bad Id", name: "x", executor: { kind: "agent", capability: "has space" } }]),
    );
    expect(problems).toHaveLength(2);
  });
});

describe("topologicalOrder", () => {
  it("keeps declaration order among steps that are ready together", () => {
    const steps = [agent("a"), agent("b", ["a"]), agent("c", ["a"]), agent("d", ["c", "b"])];
    expect(ids(topologicalOrder(steps))).toEqual(["a", "b", "c", "d"]);
    expect(ids(topologicalOrder([agent("z"), agent("y"), agent("x", ["y", "z"])]))).toEqual(["z", "y", "x"]);
  });

  it("puts every step after all its dependencies, whatever the declaration order", () => {
    const steps = [
      agent("e", ["d", "b"]),
      agent("d", ["c"]),
      agent("c", ["a"]),
      agent("b", ["a"]),
      agent("a"),
    ];
    const order = ids(topologicalOrder(steps)) as string[];
    expect(order).toHaveLength(5);
    for (const s of steps) {
      for (const dep of s.dependsOn ?? []) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(s.id));
    }
  });

  it("is null for a cycle (including a self-dependency)", () => {
    expect(topologicalOrder([agent("a", ["b"]), agent("b", ["a"])])).toBeNull();
    expect(topologicalOrder([agent("a"), agent("b", ["b"])])).toBeNull();
  });

  it("ignores unknown dependencies (validateTemplate reports them)", () => {
    expect(ids(topologicalOrder([agent("a", ["ghost"]), agent("b", ["a"])]))).toEqual(["a", "b"]);
  });
});

describe("ancestors", () => {
  it("collects direct and indirect dependencies only", () => {
    const steps = [agent("a"), agent("b", ["a"]), agent("x"), agent("c", ["b"]), agent("d", ["c", "x"])];
    expect([...ancestors(steps, "d")].sort()).toEqual(["a", "b", "c", "x"]);
    expect([...ancestors(steps, "c")].sort()).toEqual(["a", "b"]);
    expect(ancestors(steps, "a").size).toBe(0);
  });
});

describe("resolveInput", () => {
  const def = tpl([agent("a")], {
    parameters: {
      request: { type: "string", required: true },
      budget: { type: "number", default: 5 },
      flags: { type: "array", default: [] },
      opts: { type: "object" },
    },
  });

  const validationError = (fn: () => unknown) => {
    let thrown: unknown;
    try {
      fn();
    } catch (e) {
      thrown = e;
    }
    expect(isOverseerError(thrown, "OVS_ERR_VALIDATION"), String(thrown)).toBe(true);
    return thrown as { message: string; details?: { problems?: string[] } };
  };

  it("fills defaults and keeps what was given (extra keys included)", () => {
    expect(resolveInput(def, { request: "go", extra: 1 })).toEqual({
      request: "go",
      budget: 5,
      flags: [],
      extra: 1,
    });
    expect(resolveInput(def, { request: "go", budget: 7, opts: { a: 1 } })).toEqual({
      request: "go",
      budget: 7,
      flags: [],
      opts: { a: 1 },
    });
  });

  it("requires required parameters", () => {
    const err = validationError(() => resolveInput(def, { budget: 1 }));
    expect(err.details?.problems).toEqual(["input.request is required"]);
    expect(validationError(() => resolveInput(def, undefined)).details?.problems).toEqual([
      "input.request is required",
    ]);
  });

  it("rejects values of the wrong type, listing all of them", () => {
    const err = validationError(() => resolveInput(def, { request: 3, budget: "5", opts: [1] }));
    expect(err.details?.problems).toEqual([
      "input.request must be a string",
      "input.budget must be a number",
      "input.opts must be a object",
    ]);
    expect(err.message).toContain("input does not fit template t");
  });

  it("rejects input that is not a JSON object", () => {
    for (const input of [null, [], "request", 42, true]) {
      expect(validationError(() => resolveInput(def, input)).message, JSON.stringify(input)).toBe(
        "input must be a JSON object",
      );
    }
  });

  it("takes an empty input for a template without required parameters", () => {
    expect(resolveInput(tpl([agent("a")]), undefined)).toEqual({});
    expect(resolveInput(tpl([agent("a")]), {})).toEqual({});
  });
});

describe("ranges the API schema also enforces (template files are checked only here)", () => {
  it("rejects bad timeoutMs, retry.maxAttempts and weight", () => {
    const bad = {
      name: "ranges",
      steps: [
        { id: "a", name: "A", executor: { kind: "agent" as const, capability: "x" }, timeoutMs: 3e9 },
        { id: "b", name: "B", executor: { kind: "agent" as const, capability: "x" }, timeoutMs: 1.5 },
        {
          id: "c",
          name: "C",
          executor: { kind: "agent" as const, capability: "x" },
          retry: { maxAttempts: 0 },
        },
        {
          id: "e",
          name: "E",
          executor: { kind: "agent" as const, capability: "x" },
          weight: Number.POSITIVE_INFINITY,
        },
      ],
    };
    const error = (() => {
      try {
        validateTemplate(bad);
      } catch (e) {
        return e as { details: { problems: string[] } };
      }
      throw new Error("expected a validation error");
    })();
    expect(error.details.problems).toEqual([
      'step "a": timeoutMs must be an integer from 100 to 604800000',
      'step "b": timeoutMs must be an integer from 100 to 604800000',
      'step "c": retry.maxAttempts must be an integer from 1 to 1000',
      'step "e": weight must be a positive number',
    ]);
  });
});
