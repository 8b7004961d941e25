import type { Static } from "typebox";
import { successRatio } from "../../contract/figures.ts";
import type {
  WorkflowDetails,
  WorkflowHistory,
  WorkflowPending,
  WorkflowPerformance,
  WorkflowStatistics,
} from "../../contract/schemas/workflow.ts";
import { artifactStore } from "../store/artifacts-store.ts";
import { conversationStore } from "../store/conversations-store.ts";
import type { Db } from "../store/pg-pool.ts";
import { type StepPerformanceRow, type WorkflowFilter, workflowReads } from "../store/workflow-read-store.ts";
import type { PipelineService } from "./pipeline-service.ts";
import { runSummary } from "./run-views.ts";

export type { WorkflowFilter };

const roundOrNull = (ms: number | null) => (ms === null ? null : Math.round(ms));

/**
 * The history, statistics and queue reads the workflow dashboards call. Every figure is computed
 * from Postgres rows at request time; an empty history answers zeros and nulls, never samples.
 */
export class WorkflowReads {
  constructor(
    private readonly db: Db,
    private readonly pipelines: PipelineService,
  ) {}

  async history(
    filter: WorkflowFilter & { state?: string; limit: number; offset: number },
  ): Promise<Static<typeof WorkflowHistory>> {
    const states = filter.state ? [filter.state] : ["completed", "failed", "cancelled"];
    const page = await workflowReads.history(this.db, { ...filter, states });
    return {
      total: page.total,
      limit: filter.limit,
      offset: filter.offset,
      // A run not yet finished has no duration: 0.
      runs: page.rows.map((r) => ({ ...runSummary(r), durationMs: Math.round(r.duration_ms ?? 0) })),
    };
  }

  async details(id: string): Promise<Static<typeof WorkflowDetails>> {
    const run = await this.pipelines.view(id);
    const [artifacts, conversations, audit] = await Promise.all([
      artifactStore.headingsOfRun(this.db, id),
      conversationStore.headingsOfRun(this.db, id),
      workflowReads.runAuditTrail(this.db, id),
    ]);
    return {
      run,
      artifacts: artifacts.map((a) => ({
        id: a.id,
        stepId: a.step_id,
        type: a.type,
        title: a.title,
        createdAt: a.created_at.toISOString(),
      })),
      conversations: conversations.map((c) => ({
        id: c.id,
        stepId: c.step_id,
        title: c.title,
        state: c.state,
      })),
      audit: audit.map((a) => ({ ...a, at: a.at.toISOString() })),
    };
  }

  /** Counts, success rate and durations by template. */
  async statistics(filter: WorkflowFilter): Promise<Static<typeof WorkflowStatistics>> {
    const rows = await workflowReads.templateStatistics(this.db, filter);
    return {
      templates: rows.map((row) => {
        return {
          template: row.template,
          total: row.total,
          byState: {
            running: row.running,
            paused: row.paused,
            snoozed: row.snoozed,
            completed: row.completed,
            failed: row.failed,
            cancelled: row.cancelled,
          },
          // Figure run_success_rate: a cancelled run is neither a success nor a failure (it used
          // to count as a failure here while the KPIs left it out); null (not 0) when none ended.
          successRate: successRatio(row.succeeded, row.unsuccessful),
          avgDurationMs: roundOrNull(row.avg_ms),
          p95DurationMs: roundOrNull(row.p95_ms),
        };
      }),
    };
  }

  /** Step durations, retries and failures by template and step, and each template's bottleneck. */
  async performance(filter: WorkflowFilter): Promise<Static<typeof WorkflowPerformance>> {
    const rows = await workflowReads.stepPerformance(this.db, filter);
    const byTemplate = new Map<string, StepPerformanceRow[]>();
    for (const row of rows) byTemplate.set(row.template, [...(byTemplate.get(row.template) ?? []), row]);
    return {
      templates: [...byTemplate].map(([template, steps]) => {
        const timed = steps.filter((s) => s.avg_ms !== null);
        const bottleneck = timed.length
          ? timed.reduce((a, b) => ((b.avg_ms ?? 0) > (a.avg_ms ?? 0) ? b : a)).step_id
          : null;
        return {
          template,
          bottleneckStep: bottleneck,
          steps: steps.map((s) => ({
            stepId: s.step_id,
            executions: s.executions,
            completed: s.completed,
            failed: s.failed,
            retries: s.retries,
            avgDurationMs: roundOrNull(s.avg_ms),
            p95DurationMs: roundOrNull(s.p95_ms),
          })),
        };
      }),
    };
  }

  /** Runs not yet finished, most urgent first: escalated, then priority, then oldest. */
  async pending(filter: WorkflowFilter & { limit: number }): Promise<Static<typeof WorkflowPending>> {
    const rows = await workflowReads.pending(this.db, filter);
    return {
      runs: rows.map((row) => ({
        ...runSummary(row),
        currentStep: row.current_step,
        message: row.message,
      })),
    };
  }
}
