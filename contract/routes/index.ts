import type { RouteContract } from "../route.ts";
import { AGENT_ROUTES } from "./agents.ts";
import { ARTIFACT_ROUTES } from "./artifacts.ts";
import { AUDIT_ROUTES } from "./audit.ts";
import { BUDGET_ROUTES } from "./budgets.ts";
import { CONSOLE_ROUTES } from "./console.ts";
import { COORDINATION_ROUTES } from "./coordination.ts";
import { COST_ROUTES } from "./costs.ts";
import { DASHBOARD_ROUTES } from "./dashboard.ts";
import { EXPORT_ROUTES } from "./export.ts";
import { FEEDBACK_ROUTES } from "./feedback.ts";
import { HEALTH_ROUTES } from "./health.ts";
import { LLM_ROUTES } from "./llm.ts";
import { OVERRIDE_ROUTES } from "./overrides.ts";
import { PIPELINE_ROUTES } from "./pipelines.ts";
import { RECOVERY_ROUTES } from "./recovery.ts";
import { SCHEDULE_ROUTES } from "./schedules.ts";
import { SYSTEM_ROUTES } from "./system.ts";
import { TASK_ROUTES } from "./tasks.ts";
import { WORKFLOW_ROUTES } from "./workflow.ts";

/** Every route the API serves, from its contract: the server registers them, the OpenAPI document lists them. */
export const ROUTE_CONTRACTS: readonly RouteContract[] = [
  ...Object.values(AGENT_ROUTES),
  ...Object.values(ARTIFACT_ROUTES),
  ...Object.values(AUDIT_ROUTES),
  ...Object.values(BUDGET_ROUTES),
  ...Object.values(CONSOLE_ROUTES),
  ...Object.values(COORDINATION_ROUTES),
  ...Object.values(COST_ROUTES),
  ...Object.values(DASHBOARD_ROUTES),
  ...Object.values(EXPORT_ROUTES),
  ...Object.values(FEEDBACK_ROUTES),
  ...Object.values(HEALTH_ROUTES),
  ...Object.values(LLM_ROUTES),
  ...Object.values(OVERRIDE_ROUTES),
  ...Object.values(PIPELINE_ROUTES),
  ...Object.values(RECOVERY_ROUTES),
  ...Object.values(SCHEDULE_ROUTES),
  ...Object.values(SYSTEM_ROUTES),
  ...Object.values(TASK_ROUTES),
  ...Object.values(WORKFLOW_ROUTES),
];
