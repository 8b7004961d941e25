import type { Page } from "../router.ts";
import { agentPage } from "./agent.ts";
import { auditPage } from "./audit.ts";
import { coordinationPage } from "./coordination.ts";
import { costsPage } from "./costs.ts";
import { fleetPage } from "./fleet.ts";
import { overridesPage } from "./overrides.ts";
import { runPage } from "./run.ts";
import { runsPage } from "./runs.ts";
import { schedulesPage } from "./schedules.ts";
import { taskPage } from "./task.ts";
import { tasksPage } from "./tasks.ts";

/** Every page, in navigation order; detail pages name the list they belong under. */
export const PAGES: readonly Page[] = [
  fleetPage,
  agentPage,
  tasksPage,
  taskPage,
  runsPage,
  runPage,
  costsPage,
  coordinationPage,
  schedulesPage,
  auditPage,
  overridesPage,
];
