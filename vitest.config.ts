import { defineConfig } from "vitest/config";

// Files that saturate the machine (thousands of tasks, agent processes, SIGKILLs, benchmarks) or
// assert reassignment timing: run one at a time, after everything else, so none of them starves a
// neighbour on 2 cores (a clean-checkout CI run timed out that way once).
const LOAD = [
  "test/acceptance/churn-10k.test.ts",
  "test/acceptance/daemon-sigkill.test.ts",
  "test/acceptance/agent-sigkill.test.ts",
  "test/acceptance/rescue-first.test.ts",
  "test/acceptance/pipeline-kills.test.ts",
  "test/bench/bench-smoke.test.ts",
  "test/bench/pipeline-smoke.test.ts",
  "test/alerts/page-e2e.test.ts",
  "test/grafana/panels-live.test.ts",
  "test/recovery/crash-storm.test.ts",
  "test/chaos/chaos-smoke.test.ts",
  "test/soak/soak-smoke.test.ts",
  "test/leader/failover.test.ts",
  "test/figures/consistency.test.ts",
  // The whole demo (daemon, 14 agents, pipelines) in a pseudo-terminal.
  "test/demo/demo-terminal.test.ts",
];

const shared = { testTimeout: 60_000, hookTimeout: 60_000, pool: "forks" as const };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: "suites",
          include: ["test/**/*.test.ts"],
          exclude: LOAD,
          // Suites start daemons and agent processes against one Redis and Postgres on 2 cores.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: "load",
          include: LOAD,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
