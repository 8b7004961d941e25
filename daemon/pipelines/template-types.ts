/**
 * Pipeline templates are data: a DAG of steps. Agent steps become foundation tasks (leases,
 * heartbeats, retries, reassignment); built-in steps run inside the daemon.
 */

import type { BuiltinStepName } from "../../contract/schemas/pipelines.ts";

export { BUILTIN_STEPS, type BuiltinStepName } from "../../contract/schemas/pipelines.ts";

export type StepExecutor = { kind: "agent"; capability: string } | { kind: "builtin"; name: BuiltinStepName };

/** A data condition on an earlier step's output; no code is ever evaluated. */
export interface StepCondition {
  step: string;
  /** Dot path into that step's output, e.g. `intent.kind`; empty means the whole output. */
  path?: string;
  op: "equals" | "notEquals" | "in" | "exists" | "truthy";
  value?: unknown;
}

export interface StepDefinition {
  id: string;
  name: string;
  executor: StepExecutor;
  dependsOn?: string[];
  /** Progress band in percent [from, to]; either every step has a band, or none does. */
  band?: [number, number];
  /** Relative share of the run's progress when bands are not used. @default 1 */
  weight?: number;
  /** Timeout of one attempt of an agent step. @default the daemon's task timeout */
  timeoutMs?: number;
  retry?: { maxAttempts: number };
  condition?: StepCondition;
  /** Static parameters handed to the step (an operator may override them before it starts). */
  params?: Record<string, unknown>;
}

export interface TemplateParameter {
  type: "string" | "number" | "boolean" | "object" | "array";
  required?: boolean;
  default?: unknown;
  description?: string;
  /** Bounds of a number parameter (inclusive). */
  minimum?: number;
  maximum?: number;
}

export interface TemplateDefinition {
  name: string;
  description?: string;
  /** The recipe's parameters: a run's input is checked against them and defaults filled in. */
  parameters?: Record<string, TemplateParameter>;
  steps: StepDefinition[];
}

export interface StoredTemplate {
  name: string;
  version: number;
  definition: TemplateDefinition;
  source: "builtin" | "api" | "file";
  createdAt: string;
}
