import { randomUUID } from "node:crypto";

/** Real services every integration test talks to (CI runs against the machine's own). */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export const TOKENS = {
  admin: "test-admin-token-0123456789",
  operator: "test-operator-token-0123456789",
  viewer: "test-viewer-token-0123456789",
  agentSecret: "test-agent-secret-0123456789",
};

/** A fresh namespace: its own Postgres schema, Redis keys and BullMQ queues. */
export function freshNamespace(): string {
  return `t_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** The environment of a test daemon in `namespace`, with short liveness timings unless overridden. */
export function daemonEnv(namespace: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    OVERSEER_NAMESPACE: namespace,
    PORT: "0",
    HOST: "127.0.0.1",
    REDIS_URL,
    DATABASE_URL,
    OVERSEER_EMBEDDED: "false",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    OVERSEER_ADMIN_TOKEN: TOKENS.admin,
    OVERSEER_OPERATOR_TOKEN: TOKENS.operator,
    OVERSEER_VIEWER_TOKEN: TOKENS.viewer,
    OVERSEER_AGENT_SECRET: TOKENS.agentSecret,
    OVERSEER_HEARTBEAT_INTERVAL_MS: "200",
    OVERSEER_AGENT_DEAD_AFTER_MS: "1000",
    OVERSEER_RETRY_BASE_MS: "50",
    OVERSEER_RETRY_MAX_MS: "200",
    OVERSEER_RECONCILE_INTERVAL_MS: "1000",
    OVERSEER_SHUTDOWN_GRACE_MS: "5000",
    // Canary tasks would add to the task counts most suites assert; the probe tests turn it on.
    OVERSEER_CANARY_ENABLED: "false",
    // Tests read a counter right after the action that moves it: every scrape renders (scrapes at
    // once still share one render). The production default (1 s) has its own tests.
    OVERSEER_METRICS_MIN_RENDER_INTERVAL_MS: "0",
    // Likewise the dashboard reads: each request reads (concurrent ones still share); the default
    // (1 s) has its own test (test/reads/dashboard-snapshots.test.ts).
    OVERSEER_DASHBOARD_SNAPSHOT_MS: "0",
    // Every answer a test gets is checked against its route's contract (docs/configuration.md).
    OVERSEER_VALIDATE_RESPONSES: "true",
    ...overrides,
  };
}
