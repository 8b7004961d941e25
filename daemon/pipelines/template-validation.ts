import { OverseerError } from "../errors/overseer-error.ts";
import { BUILTIN_STEPS, type StepDefinition, type TemplateDefinition } from "./template-types.ts";

export const TEMPLATE_NAME_PATTERN = /^[a-z][a-z0-9._-]{0,63}$/;
const STEP_ID_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;
const CAPABILITY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_STEPS = 100;

/**
 * Checks a template and returns its steps in a topological order. Every problem is collected, so
 * one 400 lists them all; nothing is stored unless this passes.
 */
export function validateTemplate(def: TemplateDefinition): StepDefinition[] {
  const problems: string[] = [];
  if (!TEMPLATE_NAME_PATTERN.test(def.name ?? "")) {
    problems.push(`name must match ${TEMPLATE_NAME_PATTERN.source}`);
  }
  const steps = Array.isArray(def.steps) ? def.steps : [];
  if (steps.length === 0) problems.push("a template needs at least one step");
  if (steps.length > MAX_STEPS) problems.push(`at most ${MAX_STEPS} steps`);
  const ids = new Set<string>();
  for (const s of steps) {
    if (!STEP_ID_PATTERN.test(s.id ?? ""))
      problems.push(`step id "${s.id}" must match ${STEP_ID_PATTERN.source}`);
    if (ids.has(s.id)) problems.push(`step id "${s.id}" is used twice`);
    ids.add(s.id);
  }
  const withBand = steps.filter((s) => s.band !== undefined).length;
  if (withBand > 0 && withBand < steps.length) {
    problems.push("either every step has a progress band or none does");
  }
  for (const s of steps) {
    const where = `step "${s.id}"`;
    if (s.executor?.kind === "agent") {
      if (!CAPABILITY_PATTERN.test(s.executor.capability ?? "")) {
        problems.push(`${where}: capability must match ${CAPABILITY_PATTERN.source}`);
      }
    } else if (s.executor?.kind === "builtin") {
      if (!(BUILTIN_STEPS as readonly string[]).includes(s.executor.name)) {
        problems.push(
          `${where}: unknown built-in step "${s.executor.name}" (known: ${BUILTIN_STEPS.join(", ")})`,
        );
      }
    } else {
      problems.push(`${where}: executor.kind must be "agent" or "builtin"`);
    }
    for (const dep of s.dependsOn ?? []) {
      if (!ids.has(dep)) problems.push(`${where} depends on unknown step "${dep}"`);
      if (dep === s.id) problems.push(`${where} depends on itself`);
    }
    if (s.band) {
      const [from, to] = s.band;
      if (!(from >= 0 && to <= 100 && from < to))
        problems.push(`${where}: band must satisfy 0 <= from < to <= 100`);
    }
    if (s.weight !== undefined && !(Number.isFinite(s.weight) && s.weight > 0)) {
      problems.push(`${where}: weight must be a positive number`);
    }
    // The same ranges the API schema enforces: template files are checked here only.
    if (
      s.timeoutMs !== undefined &&
      !(Number.isInteger(s.timeoutMs) && s.timeoutMs >= 100 && s.timeoutMs <= 604_800_000)
    ) {
      problems.push(`${where}: timeoutMs must be an integer from 100 to 604800000`);
    }
    if (
      s.retry !== undefined &&
      !(Number.isInteger(s.retry?.maxAttempts) && s.retry.maxAttempts >= 1 && s.retry.maxAttempts <= 1_000)
    ) {
      problems.push(`${where}: retry.maxAttempts must be an integer from 1 to 1000`);
    }
  }
  const order = topologicalOrder(steps);
  if (!order) problems.push("steps form a cycle (dependsOn must be a DAG)");
  if (order) {
    for (const s of steps) {
      if (!s.condition) continue;
      if (!ancestors(steps, s.id).has(s.condition.step)) {
        problems.push(`step "${s.id}": its condition must refer to a step it depends on (directly or not)`);
      }
    }
  }
  for (const [name, p] of Object.entries(def.parameters ?? {})) {
    if (!["string", "number", "boolean", "object", "array"].includes(p.type)) {
      problems.push(`parameter "${name}": unknown type "${p.type}"`);
    }
    if (p.default !== undefined && !matchesType(p.default, p.type)) {
      problems.push(`parameter "${name}": default is not a ${p.type}`);
    }
    if ((p.minimum !== undefined || p.maximum !== undefined) && p.type !== "number") {
      problems.push(`parameter "${name}": minimum and maximum apply to number parameters only`);
    }
    if (p.minimum !== undefined && p.maximum !== undefined && p.minimum > p.maximum) {
      problems.push(`parameter "${name}": minimum is above maximum`);
    }
  }
  if (problems.length > 0) {
    throw new OverseerError("OVS_ERR_TEMPLATE_INVALID", `invalid template: ${problems.join("; ")}`, {
      problems,
    });
  }
  return order as StepDefinition[];
}

/** Kahn's algorithm in declaration order; null when there is a cycle. */
export function topologicalOrder(steps: StepDefinition[]): StepDefinition[] | null {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const indegree = new Map(steps.map((s) => [s.id, (s.dependsOn ?? []).filter((d) => byId.has(d)).length]));
  const out: StepDefinition[] = [];
  const ready = steps.filter((s) => indegree.get(s.id) === 0);
  while (ready.length > 0) {
    const s = ready.shift() as StepDefinition;
    out.push(s);
    for (const t of steps) {
      if ((t.dependsOn ?? []).includes(s.id)) {
        const n = (indegree.get(t.id) ?? 0) - 1;
        indegree.set(t.id, n);
        if (n === 0) ready.push(t);
      }
    }
  }
  return out.length === steps.length ? out : null;
}

/** Every step `id` depends on, directly or through others. */
export function ancestors(steps: StepDefinition[], id: string): Set<string> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const stack = [...(byId.get(id)?.dependsOn ?? [])];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    if (seen.has(d)) continue;
    seen.add(d);
    stack.push(...(byId.get(d)?.dependsOn ?? []));
  }
  return seen;
}

export function matchesType(value: unknown, type: string): boolean {
  if (type === "array") return Array.isArray(value);
  if (type === "object") return typeof value === "object" && value !== null && !Array.isArray(value);
  return typeof value === type;
}

/** Checks a run's input against the template's parameters and fills defaults; throws 400 otherwise. */
export function resolveInput(def: TemplateDefinition, input: unknown): Record<string, unknown> {
  if (input !== undefined && (typeof input !== "object" || input === null || Array.isArray(input))) {
    throw new OverseerError("OVS_ERR_VALIDATION", "input must be a JSON object");
  }
  const out: Record<string, unknown> = { ...((input as Record<string, unknown>) ?? {}) };
  const problems: string[] = [];
  for (const [name, p] of Object.entries(def.parameters ?? {})) {
    if (out[name] === undefined) {
      if (p.default !== undefined) out[name] = p.default;
      else if (p.required) problems.push(`input.${name} is required`);
      continue;
    }
    if (!matchesType(out[name], p.type)) {
      problems.push(`input.${name} must be a ${p.type}`);
      continue;
    }
    const n = out[name];
    if (typeof n === "number" && p.minimum !== undefined && n < p.minimum) {
      problems.push(`input.${name} must be at least ${p.minimum}`);
    }
    if (typeof n === "number" && p.maximum !== undefined && n > p.maximum) {
      problems.push(`input.${name} must be at most ${p.maximum}`);
    }
  }
  if (problems.length > 0) {
    throw new OverseerError(
      "OVS_ERR_VALIDATION",
      `input does not fit template ${def.name}: ${problems.join("; ")}`,
      {
        problems,
      },
    );
  }
  return out;
}
