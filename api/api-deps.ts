import type { LifecycleState } from "../contract/schemas/health.ts";
import type { SystemHealthReport } from "../contract/schemas/system.ts";
import type { AgentService } from "../daemon/agents/agent-service.ts";
import type { AgentSessions } from "../daemon/agents/agent-sessions.ts";
import type { KpiReads } from "../daemon/analytics/kpi-reads.ts";
import type { BudgetService } from "../daemon/budgets/budget-service.ts";
import type { OverseerConfig } from "../daemon/config/compile-config.ts";
import type { AuditService } from "../daemon/control/audit-service.ts";
import type { CoordinationReads } from "../daemon/coordination/coordination-reads.ts";
import type { CoordinationService } from "../daemon/coordination/coordination-service.ts";
import type { DashboardReads } from "../daemon/dashboard/dashboard-reads.ts";
import type { FeedbackService } from "../daemon/feedback/feedback-service.ts";
import type { FeedHub } from "../daemon/feeds/feed-hub.ts";
import type { CostReads } from "../daemon/llm/cost-reads.ts";
import type { LlmCallService } from "../daemon/llm/llm-call-service.ts";
import type { TrainingExport } from "../daemon/llm/training-export.ts";
import type { OverrideService } from "../daemon/overrides/override-service.ts";
import type { ArtifactService } from "../daemon/pipelines/artifact-service.ts";
import type { PipelineService } from "../daemon/pipelines/pipeline-service.ts";
import type { WorkflowReads } from "../daemon/pipelines/workflow-reads.ts";
import type { ScheduleService } from "../daemon/schedules/schedule-service.ts";
import type { TaskOperator } from "../daemon/tasks/task-operator.ts";
import type { TaskService } from "../daemon/tasks/task-service.ts";
import type { OverseerMetrics } from "../daemon/telemetry/metrics.ts";
import type { Readiness } from "../probes/system-health.ts";
import type { RecoveryDeps } from "../recovery/recovery-deps.ts";
import type { Authenticator } from "./auth.ts";

/** What the API needs from the daemon: its services' interfaces, never Redis or Postgres directly. */
export interface ApiDeps {
  version: string;
  config: OverseerConfig;
  auth: Authenticator;
  agents: AgentService;
  tasks: TaskService;
  /** The operator's task list and its cancel and priority levers. */
  taskOperator: TaskOperator;
  pipelines: PipelineService;
  schedules: ScheduleService;
  artifacts: ArtifactService;
  workflow: WorkflowReads;
  costs: CostReads;
  kpis: KpiReads;
  dashboard: DashboardReads;
  llmCalls: LlmCallService;
  budgets: BudgetService;
  feedback: FeedbackService;
  trainingExport: TrainingExport;
  /** Coordination reads and levers (docs/coordination.md); the operator retry is `tasks.retryByOperator`. */
  coordination: { reads: CoordinationReads; levers: CoordinationService };
  /** Emergency overrides and their gate (docs/overrides.md). */
  overrides: OverrideService;
  /** The audit log's reads (GET /api/audit). */
  audit: AuditService;
  /** Agent restarts, auto-heal and managed agents (docs/recovery.md). */
  recovery: RecoveryDeps;
  metrics: OverseerMetrics;
  /** This replica's agent sessions and death by disconnect (served on the HTTP server's upgrade event); none when only the document is built. */
  sessions?: AgentSessions;
  /** The WebSocket feeds (served on the HTTP server's upgrade event); none in API-only setups. */
  feeds?: FeedHub;
  /** Refreshes state gauges and renders Prometheus text. */
  renderMetrics(): Promise<string>;
  /** Liveness of the process and readiness to take traffic (dependencies up, not draining). */
  health(): { live: boolean; lifecycle: LifecycleState };
  readiness(): Promise<Readiness>;
  /** `GET /api/dashboard/system/health`: components, score and active overrides (probes/system-health.ts). */
  systemHealth(): Promise<SystemHealthReport>;
}
