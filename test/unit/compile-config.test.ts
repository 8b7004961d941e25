import { describe, expect, it } from "vitest";
import { ConfigError, compileConfig } from "../../daemon/config/compile-config.ts";
import { parseDurationMs } from "../../daemon/config/duration.ts";

const SECRETS = {
  OVERSEER_ADMIN_TOKEN: "admin-token-0123456789",
  OVERSEER_OPERATOR_TOKEN: "operator-token-0123456789",
  OVERSEER_VIEWER_TOKEN: "viewer-token-0123456789",
  OVERSEER_AGENT_SECRET: "agent-secret-0123456789",
};

/** The ConfigError thrown for `env`, or a failure when it compiles. */
function problemsOf(env: Record<string, string>): ConfigError {
  try {
    compileConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe("parseDurationMs", () => {
  it.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1.5s", 1_500],
    ["250", 250],
    [" 30s ", 30_000],
    ["10 s", 10_000],
    ["0", 0],
  ])("%j → %d ms", (input, ms) => {
    expect(parseDurationMs(input)).toBe(ms);
  });

  it.each(["", "fast", "-1s", "10sec", "1d", "s", "1e3", "30S"])("rejects %j", (input) => {
    expect(() => parseDurationMs(input)).toThrow(TypeError);
  });
});

describe("compileConfig", () => {
  it("has the documented defaults", () => {
    const c = compileConfig({});
    expect(c).toMatchObject({
      port: 8080,
      host: "0.0.0.0",
      redisUrl: "redis://127.0.0.1:6379",
      redisUrlExplicit: false,
      databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres",
      databaseUrlExplicit: false,
      pgPoolSize: 10,
      pgIntakePoolSize: 2,
      namespace: "default",
      heartbeatIntervalMs: 1_000,
      agentStaleAfterMs: 2_000,
      agentDeadAfterMs: 3_000,
      sweepIntervalMs: 250,
      reconcileIntervalMs: 10_000,
      defaultMaxAttempts: 3,
      defaultTaskTimeoutMs: 300_000,
      retryBaseMs: 1_000,
      retryMaxMs: 60_000,
      claimMaxWaitMs: 30_000,
      maxBodyBytes: 1_048_576,
      metricsMaxAgentSeries: 500,
      shutdownGraceMs: 10_000,
      leaderLeaseMs: 5_000,
      pipelineSweepIntervalMs: 1_000,
      scheduleIntervalMs: 1_000,
      templatesDir: "",
      logLevel: "info",
      dataDir: ".overseer",
      allowEmbedded: true,
    });
  });

  it("defaults the stale threshold to twice the heartbeat interval (and below the dead threshold)", () => {
    expect(compileConfig({ OVERSEER_HEARTBEAT_INTERVAL_MS: "500ms" }).agentStaleAfterMs).toBe(1_000);
    expect(
      compileConfig({ OVERSEER_HEARTBEAT_INTERVAL_MS: "10s", OVERSEER_AGENT_DEAD_AFTER_MS: "1m" })
        .agentStaleAfterMs,
    ).toBe(20_000);
    // 2 × 2000 would reach the dead threshold: stale is kept just below it.
    expect(
      compileConfig({ OVERSEER_HEARTBEAT_INTERVAL_MS: "2000", OVERSEER_AGENT_DEAD_AFTER_MS: "3000" })
        .agentStaleAfterMs,
    ).toBe(2_999);
  });

  it("parses human durations", () => {
    const c = compileConfig({
      OVERSEER_HEARTBEAT_INTERVAL_MS: "500ms",
      OVERSEER_AGENT_STALE_AFTER_MS: "10s",
      OVERSEER_AGENT_DEAD_AFTER_MS: "30s",
      OVERSEER_RETRY_MAX_MS: "2m",
      OVERSEER_RECONCILE_INTERVAL_MS: "1h",
      OVERSEER_SWEEP_INTERVAL_MS: "100",
    });
    expect(c.heartbeatIntervalMs).toBe(500);
    expect(c.agentStaleAfterMs).toBe(10_000);
    expect(c.agentDeadAfterMs).toBe(30_000);
    expect(c.retryMaxMs).toBe(120_000);
    expect(c.reconcileIntervalMs).toBe(3_600_000);
    expect(c.sweepIntervalMs).toBe(100);
  });

  it("takes explicit values", () => {
    const c = compileConfig({
      ...SECRETS,
      PORT: "9090",
      HOST: "127.0.0.1",
      REDIS_URL: "rediss://cache:6380",
      DATABASE_URL: "postgresql://db/overseer",
      OVERSEER_NAMESPACE: "team_a1",
      OVERSEER_EMBEDDED: "off",
      LOG_LEVEL: "debug",
      OVERSEER_MAX_BODY_BYTES: "2048",
    });
    expect(c).toMatchObject({
      port: 9090,
      host: "127.0.0.1",
      redisUrl: "rediss://cache:6380",
      redisUrlExplicit: true,
      databaseUrl: "postgresql://db/overseer",
      databaseUrlExplicit: true,
      namespace: "team_a1",
      allowEmbedded: false,
      logLevel: "debug",
      maxBodyBytes: 2048,
      tokens: {
        admin: SECRETS.OVERSEER_ADMIN_TOKEN,
        operator: SECRETS.OVERSEER_OPERATOR_TOKEN,
        viewer: SECRETS.OVERSEER_VIEWER_TOKEN,
      },
      agentSecret: SECRETS.OVERSEER_AGENT_SECRET,
      generatedSecrets: [],
    });
  });

  it("generates the secrets that are not set and says which", () => {
    const c = compileConfig({ OVERSEER_VIEWER_TOKEN: SECRETS.OVERSEER_VIEWER_TOKEN });
    expect(c.generatedSecrets.sort()).toEqual(
      ["OVERSEER_ADMIN_TOKEN", "OVERSEER_AGENT_SECRET", "OVERSEER_OPERATOR_TOKEN"].sort(),
    );
    expect(c.tokens.viewer).toBe(SECRETS.OVERSEER_VIEWER_TOKEN);
    const generated = [c.tokens.admin, c.tokens.operator, c.agentSecret];
    for (const secret of generated) expect(secret.length).toBeGreaterThanOrEqual(16);
    expect(new Set(generated).size).toBe(3);
    // Fresh each time.
    expect(compileConfig({}).tokens.admin).not.toBe(c.tokens.admin);
    expect(compileConfig({}).generatedSecrets).toHaveLength(4);
  });

  it("collects every bad value into one ConfigError with exit code 78", () => {
    const env: Record<string, string> = {
      PORT: "abc",
      OVERSEER_PG_POOL_SIZE: "0",
      OVERSEER_HEARTBEAT_INTERVAL_MS: "fast",
      OVERSEER_RECONCILE_INTERVAL_MS: "1ms",
      OVERSEER_EMBEDDED: "maybe",
      REDIS_URL: "http://cache:6379",
      DATABASE_URL: "not a url",
      LOG_LEVEL: "loud",
      OVERSEER_ADMIN_TOKEN: "short",
      OVERSEER_MAX_BODY_BYTES: "10",
      OVERSEER_DEFAULT_MAX_ATTEMPTS: "1.5",
    };
    const error = problemsOf(env);
    expect(error.exitCode).toBe(78);
    expect(error.name).toBe("ConfigError");
    expect(error.problems).toHaveLength(Object.keys(env).length);
    for (const name of Object.keys(env)) {
      expect(
        error.problems.some((p) => p.startsWith(name)),
        `${name} in ${error.problems.join("; ")}`,
      ).toBe(true);
      expect(error.message).toContain(name);
    }
  });

  it("rejects a dead threshold not longer than the heartbeat interval", () => {
    const error = problemsOf({ OVERSEER_HEARTBEAT_INTERVAL_MS: "3s", OVERSEER_AGENT_DEAD_AFTER_MS: "3s" });
    expect(error.problems.join("\n")).toMatch(/OVERSEER_AGENT_DEAD_AFTER_MS \(3000\) must be longer/);
    expect(() =>
      compileConfig({ OVERSEER_HEARTBEAT_INTERVAL_MS: "5s", OVERSEER_AGENT_DEAD_AFTER_MS: "2s" }),
    ).toThrow(ConfigError);
  });

  it("rejects a stale threshold at or beyond the dead threshold", () => {
    for (const stale of ["3s", "5s"]) {
      const error = problemsOf({ OVERSEER_AGENT_STALE_AFTER_MS: stale, OVERSEER_AGENT_DEAD_AFTER_MS: "3s" });
      expect(error.problems.join("\n")).toMatch(/OVERSEER_AGENT_STALE_AFTER_MS .* must be shorter/);
    }
    expect(
      compileConfig({ OVERSEER_AGENT_STALE_AFTER_MS: "2999", OVERSEER_AGENT_DEAD_AFTER_MS: "3s" })
        .agentStaleAfterMs,
    ).toBe(2_999);
  });

  it("rejects a retry cap below the retry base", () => {
    const error = problemsOf({ OVERSEER_RETRY_BASE_MS: "2s", OVERSEER_RETRY_MAX_MS: "1s" });
    expect(error.problems).toEqual(["OVERSEER_RETRY_MAX_MS must not be below OVERSEER_RETRY_BASE_MS"]);
  });

  it.each(["Default", "1abc", "has-dash", "a b", "_x", "a".repeat(41)])("rejects the namespace %j", (ns) => {
    const error = problemsOf({ OVERSEER_NAMESPACE: ns });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain("OVERSEER_NAMESPACE");
  });

  it("accepts namespaces of lower-case letters, digits and _", () => {
    for (const ns of ["a", "t_0123456789ab", "a".repeat(40)]) {
      expect(compileConfig({ OVERSEER_NAMESPACE: ns }).namespace).toBe(ns);
    }
  });

  it("treats empty values as unset", () => {
    const c = compileConfig({ PORT: "", OVERSEER_NAMESPACE: "", REDIS_URL: "", OVERSEER_ADMIN_TOKEN: "" });
    expect(c.port).toBe(8080);
    expect(c.namespace).toBe("default");
    expect(c.redisUrlExplicit).toBe(false);
    expect(c.generatedSecrets).toContain("OVERSEER_ADMIN_TOKEN");
  });

  it("reads true/false spellings", () => {
    for (const v of ["1", "true", "YES", "on"])
      expect(compileConfig({ OVERSEER_EMBEDDED: v }).allowEmbedded).toBe(true);
    for (const v of ["0", "false", "No", "OFF"])
      expect(compileConfig({ OVERSEER_EMBEDDED: v }).allowEmbedded).toBe(false);
  });
});
