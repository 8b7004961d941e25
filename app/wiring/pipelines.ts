import type { BudgetService } from "../../daemon/budgets/budget-service.ts";
import type { OverseerConfig } from "../../daemon/config/compile-config.ts";
import type { EventBus } from "../../daemon/events/event-bus.ts";
import { ArtifactService } from "../../daemon/pipelines/artifact-service.ts";
import { PipelineEngine } from "../../daemon/pipelines/pipeline-engine.ts";
import { PipelineService } from "../../daemon/pipelines/pipeline-service.ts";
import { readTemplateFiles } from "../../daemon/pipelines/template-files.ts";
import { WorkflowReads } from "../../daemon/pipelines/workflow-reads.ts";
import { ScheduleService } from "../../daemon/schedules/schedule-service.ts";
import type { Db } from "../../daemon/store/pg-pool.ts";
import { PipelineTemplateStore } from "../../daemon/store/pipeline-template-store.ts";
import type { TaskStore } from "../../daemon/store/task-store.ts";
import type { TaskDispatch } from "../../daemon/tasks/task-dispatch.ts";
import type { LoopSpec } from "../leader-loops.ts";

export interface PipelineParts {
  config: OverseerConfig;
  db: Db;
  intakeDb: Db;
  bus: EventBus;
  taskStore: TaskStore;
  dispatch: TaskDispatch;
  budgets: BudgetService;
  onError: (error: unknown, context: string) => void;
}

/**
 * Pipelines as supervised jobs (templates stored, built-ins and files first), their schedules,
 * artifacts and history. The service is also the port through which tasks report a step's end.
 */
export async function wirePipelines(p: PipelineParts) {
  const { config, db, bus } = p;
  const templates = new PipelineTemplateStore(db);
  const defaults = { maxAttempts: config.defaultMaxAttempts, timeoutMs: config.defaultTaskTimeoutMs };
  const engine = new PipelineEngine(db, templates, p.taskStore, p.dispatch, bus, defaults, p.budgets);
  const pipelines = new PipelineService(db, templates, engine, p.taskStore, bus, p.onError, p.intakeDb);
  await pipelines.start(await readTemplateFiles(config.templatesDir));
  const schedules = new ScheduleService(db, pipelines, bus, p.onError);
  const loops: LoopSpec[] = [
    {
      name: "pipelines",
      everyMs: config.pipelineSweepIntervalMs,
      replica: () => pipelines.refreshCapabilities(),
      leader: () => pipelines.sweep(),
    },
    // The row lock and the tick's primary key would also make each tick fire once if two replicas
    // ever looked at the same time.
    { name: "schedules", everyMs: config.scheduleIntervalMs, leader: () => schedules.tick() },
  ];
  return {
    pipelines,
    schedules,
    artifacts: new ArtifactService(db, engine, p.taskStore, bus),
    workflow: new WorkflowReads(db, pipelines),
    loops,
  };
}

export type PipelineArea = Awaited<ReturnType<typeof wirePipelines>>;
