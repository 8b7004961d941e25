import type { StepCondition } from "./template-types.ts";

/** Reads a dot path (`a.b.0.c`) from a JSON value; undefined when any part is missing. */
export function readPath(value: unknown, path: string | undefined): unknown {
  if (!path) return value;
  let cur: unknown = value;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Evaluates a step condition against the outputs of earlier steps. Pure data, no code. */
export function conditionHolds(condition: StepCondition, outputs: Record<string, unknown>): boolean {
  const actual = readPath(outputs[condition.step], condition.path);
  switch (condition.op) {
    case "exists":
      return actual !== undefined && actual !== null;
    case "truthy":
      return Boolean(actual);
    case "equals":
      return JSON.stringify(actual) === JSON.stringify(condition.value);
    case "notEquals":
      return JSON.stringify(actual) !== JSON.stringify(condition.value);
    case "in":
      return (
        Array.isArray(condition.value) &&
        condition.value.some((v) => JSON.stringify(v) === JSON.stringify(actual))
      );
  }
}
