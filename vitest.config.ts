import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites start daemons and agent processes against one Redis and Postgres on 2 cores:
    // a few files at a time keeps timings honest.
    maxWorkers: 2,
    pool: "forks",
  },
});
