import { describe, expect, it } from "vitest";
import { ConfigError, compileConfig } from "../../daemon/config/compile-config.ts";

const DAY = 86_400_000;

describe("retention configuration", () => {
  it("defaults to 7 days for tasks, runs and history, 90 for LLM calls, 365 for audit, a pass a minute", () => {
    const c = compileConfig({});
    expect(c.retention).toEqual({
      tasksMs: 7 * DAY,
      runsMs: 7 * DAY,
      historyMs: 7 * DAY,
      llmCallsMs: 90 * DAY,
      auditMs: 365 * DAY,
    });
    expect(c.retentionIntervalMs).toBe(60_000);
  });

  it("reads durations, with 0 meaning keep forever", () => {
    const c = compileConfig({
      OVERSEER_RETENTION_TASKS: "0",
      OVERSEER_RETENTION_RUNS: "48h",
      OVERSEER_RETENTION_HISTORY: "3m",
      OVERSEER_RETENTION_LLM_CALLS: "2160h",
      OVERSEER_RETENTION_AUDIT: "0",
      OVERSEER_RETENTION_INTERVAL_MS: "30s",
    });
    expect(c.retention).toEqual({
      tasksMs: 0,
      runsMs: 48 * 3_600_000,
      historyMs: 180_000,
      llmCallsMs: 90 * DAY,
      auditMs: 0,
    });
    expect(c.retentionIntervalMs).toBe(30_000);
  });

  it("rejects values that are not durations", () => {
    expect(() => compileConfig({ OVERSEER_RETENTION_TASKS: "7d" })).toThrow(ConfigError);
    expect(() => compileConfig({ OVERSEER_RETENTION_INTERVAL_MS: "0" })).toThrow(ConfigError);
  });
});
