import type { FeedFilter, FeedName } from "../../contract/feed-protocol.ts";
import type { DashboardReads } from "../dashboard/dashboard-reads.ts";
import type { PipelineService } from "../pipelines/pipeline-service.ts";
import type { SnapshotReader } from "./feed-hub.ts";

export interface SnapshotSources {
  dashboard: DashboardReads;
  pipelines: PipelineService;
  /** Lifecycle, dependency checks and leader state of this replica. */
  system: () => Promise<Record<string, unknown>>;
}

/** Largest snapshot lists: a feed is a live view, not an export. */
const SNAPSHOT_AGENTS = 1_000;
const SNAPSHOT_RUNS = 200;

/**
 * The snapshot of each feed, from the same reads as the dashboard endpoints (Postgres and Redis at
 * connect time). A connect filter narrows what those reads can narrow: `role` the agents, a single
 * `taskType` the queues; the other keys only filter the deltas.
 */
export function snapshotReader(sources: SnapshotSources): SnapshotReader {
  const agents = (filter: FeedFilter) =>
    sources.dashboard.agentsStatus({
      role: filter.role?.length === 1 ? filter.role[0] : undefined,
      includeEnded: false,
      limit: SNAPSHOT_AGENTS,
    });
  const tasks = (filter: FeedFilter) =>
    sources.dashboard.taskQueue({ type: filter.taskType?.length === 1 ? filter.taskType[0] : undefined });
  const coordination = () =>
    sources.pipelines.list({ state: "running", limit: SNAPSHOT_RUNS, offset: 0 }).then((runs) => ({
      total: runs.total,
      runs: runs.runs,
    }));
  const read: Record<Exclude<FeedName, "dashboard">, (f: FeedFilter) => Promise<unknown>> = {
    agents,
    tasks,
    coordination,
    system: () => sources.system(),
  };
  return async (feed, filter) => {
    if (feed !== "dashboard") return { [feed]: await read[feed](filter) };
    const [a, t, c, s] = await Promise.all([agents(filter), tasks(filter), coordination(), sources.system()]);
    return { agents: a, tasks: t, coordination: c, system: s };
  };
}
