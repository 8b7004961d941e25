import { defineRoute } from "../route.ts";
import { IdParams } from "../schemas/common.ts";
import {
  WorkflowDetails,
  WorkflowHistory,
  WorkflowHistoryQuery,
  WorkflowPending,
  WorkflowPendingQuery,
  WorkflowPerformance,
  WorkflowRangeQuery,
  WorkflowStatistics,
} from "../schemas/workflow.ts";

/** History, details, statistics, step performance and the pending queue of pipeline runs (viewer). */
export const WORKFLOW_ROUTES = {
  history: defineRoute({
    method: "GET",
    url: "/api/workflow/history",
    operationId: "getWorkflowHistory",
    summary: "Finished runs (or runs in `state`), newest finished first, with their durations",
    tag: "workflow",
    auth: "viewer",
    querystring: WorkflowHistoryQuery,
    replies: { 200: WorkflowHistory },
  }),
  statistics: defineRoute({
    method: "GET",
    url: "/api/workflow/statistics",
    operationId: "getWorkflowStatistics",
    summary: "Counts by state, success rate and durations of runs, by template",
    tag: "workflow",
    auth: "viewer",
    querystring: WorkflowRangeQuery,
    replies: { 200: WorkflowStatistics },
  }),
  performance: defineRoute({
    method: "GET",
    url: "/api/workflow/performance-metrics",
    operationId: "getWorkflowPerformance",
    summary: "Step executions, failures, retries and durations by template and step, and each bottleneck",
    tag: "workflow",
    auth: "viewer",
    querystring: WorkflowRangeQuery,
    replies: { 200: WorkflowPerformance },
  }),
  pending: defineRoute({
    method: "GET",
    url: "/api/workflow/pending",
    operationId: "getWorkflowPending",
    summary: "Runs not yet finished, most urgent first (escalated, priority, oldest)",
    tag: "workflow",
    auth: "viewer",
    querystring: WorkflowPendingQuery,
    replies: { 200: WorkflowPending },
  }),
  details: defineRoute({
    method: "GET",
    url: "/api/workflow/:id/details",
    operationId: "getWorkflowDetails",
    summary: "A run with its artifacts, conversations and the operator actions taken on it",
    tag: "workflow",
    auth: "viewer",
    params: IdParams,
    replies: { 200: WorkflowDetails },
    errors: [404],
  }),
};
