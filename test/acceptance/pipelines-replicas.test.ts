import { describe, vi } from "vitest";
import { startReplicatedTestDaemon } from "../helpers/replica-set.ts";

// The pipeline suites (test/pipelines/*) against PIPELINE_REPLICAS in-process replicas of one
// namespace instead of one daemon: their `startTestDaemon` is swapped for a replicated one whose API
// calls go round-robin over the replicas. Opt-in, not in CI yet:
//   PIPELINE_REPLICAS=3 npx vitest run test/acceptance/pipelines-replicas.test.ts
// With 2 and 3 replicas 2 of the 27 tests fail every time, neither a lost or doubled step:
// "workflow reads" expects run counters on the /metrics of whichever replica it asks (counters are
// per replica: a test assumption), and "PUT stores versions" starts a run on a replica that read
// the template's latest version up to 1 s earlier (PipelineTemplateStore.latestWithin, by design), so the
// run is on version 1. In 3 of 4 runs with 3 replicas "a paused run whose step fails" also timed
// out: its step's task completes on a replica that has not yet re-read the templates' capabilities
// (every 5 s), which ignores the completion, and the leader's sweep that would repair it skips
// paused runs (a daemon fault). Seen once each with 3 replicas, not again in 3 reruns: "two replicas
// ... every-second schedule exactly once" and "progress and completion reported to the other
// replica".
const REPLICAS = Number(process.env.PIPELINE_REPLICAS ?? 0);

vi.mock("../helpers/daemon-harness.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../helpers/daemon-harness.ts")>();
  return {
    ...real,
    startTestDaemon: (overrides?: Record<string, string>, namespace?: string) =>
      startReplicatedTestDaemon(REPLICAS, overrides, namespace, real.startTestDaemon),
  };
});

describe.skipIf(REPLICAS < 1)(`pipeline suites with ${REPLICAS} replicas`, async () => {
  if (REPLICAS < 1) return;
  await import("../pipelines/templates-run.test.ts");
  await import("../pipelines/run-actions.test.ts");
  await import("../pipelines/artifacts-and-history.test.ts");
  await import("../pipelines/schedules.test.ts");
  await import("../pipelines/bad-input.test.ts");
  await import("../pipelines/replicas.test.ts");
});
