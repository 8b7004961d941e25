import { randomBytes } from "node:crypto";
import { type TracingSettings, tracingSettings } from "../../contract/telemetry/tracing-config.ts";
import { type PriceTable, parsePricing } from "../llm/pricing.ts";
import type { RetentionKeep } from "../retention/retention-policy.ts";
import { type ClusterSeed, parseClusterNodes } from "../store/redis/redis-connect.ts";
import { parseDurationMs } from "./duration.ts";
import { envIntReader } from "./env-int.ts";

/**
 * The daemon's configuration, compiled once at start from the environment.
 * Durations are accepted as "30s"/"500ms" and stored as `*Ms` numbers.
 */
export interface OverseerConfig {
  /** HTTP port. @default 8080 (env PORT) */
  port: number;
  /** Interface to bind. @default "0.0.0.0" (env HOST) */
  host: string;
  /** Redis URL. @default "redis://127.0.0.1:6379" (env REDIS_URL) */
  redisUrl: string;
  /** True when REDIS_URL or REDIS_CLUSTER_NODES was set: then Redis is never replaced by an embedded server. */
  redisUrlExplicit: boolean;
  /** Redis Cluster seeds; when non-empty the daemon connects to the cluster, not REDIS_URL. @default [] (env REDIS_CLUSTER_NODES) */
  redisClusterNodes: ClusterSeed[];
  /** Postgres URL. @default "postgres://postgres@127.0.0.1:5432/postgres" (env DATABASE_URL) */
  databaseUrl: string;
  /** True when DATABASE_URL was set. */
  databaseUrlExplicit: boolean;
  /** Postgres pool size. @default 10 (env OVERSEER_PG_POOL_SIZE) */
  pgPoolSize: number;
  /** Isolates data: Postgres schema `overseer_<ns>`, Redis prefix `ovs:<ns>`. @default "default" (env OVERSEER_NAMESPACE) */
  namespace: string;
  /** Interval agents are told to heartbeat at. @default 1000 (env OVERSEER_HEARTBEAT_INTERVAL_MS) */
  heartbeatIntervalMs: number;
  /** Silence after which an agent is stale (keeps its leases). @default 2 × heartbeat interval (env OVERSEER_AGENT_STALE_AFTER_MS) */
  agentStaleAfterMs: number;
  /** Silence after which an agent is dead and its leases are revoked. @default 3000 (env OVERSEER_AGENT_DEAD_AFTER_MS) */
  agentDeadAfterMs: number;
  /** How often the liveness sweep runs. @default min(250, heartbeat interval / 2) (env OVERSEER_SWEEP_INTERVAL_MS) */
  sweepIntervalMs: number;
  /** How often the reconciler compares Postgres with the queues. @default 10s (env OVERSEER_RECONCILE_INTERVAL_MS) */
  reconcileIntervalMs: number;
  /** Task attempts before dead-lettering, when a task does not say. @default 3 (env OVERSEER_DEFAULT_MAX_ATTEMPTS) */
  defaultMaxAttempts: number;
  /** Task timeout when a task does not say. @default 5m (env OVERSEER_DEFAULT_TASK_TIMEOUT_MS) */
  defaultTaskTimeoutMs: number;
  /** First retry delay; doubles each attempt, with jitter. @default 1s (env OVERSEER_RETRY_BASE_MS) */
  retryBaseMs: number;
  /** Cap on the retry delay. @default 60s (env OVERSEER_RETRY_MAX_MS) */
  retryMaxMs: number;
  /** Longest a claim may wait for work. @default 30s (env OVERSEER_CLAIM_MAX_WAIT_MS) */
  claimMaxWaitMs: number;
  /** How long an agent whose session closed without a goodbye may take to reconnect before it is dead. @default 150ms (env OVERSEER_SESSION_GRACE_MS) */
  sessionGraceMs: number;
  /** Largest request body. @default 1048576 (env OVERSEER_MAX_BODY_BYTES) */
  maxBodyBytes: number;
  /**
   * Development and tests: check every JSON answer against its route's contract before sending it,
   * strictly (a field the contract does not declare fails), and answer 500 naming the mismatch.
   * @default false (env OVERSEER_VALIDATE_RESPONSES)
   */
  validateResponses: boolean;
  /** Control requests (routes with `config.rateLimit: "control"`) a token may send at once. @default 10 (env OVERSEER_CONTROL_RATE_BURST) */
  controlRateBurst: number;
  /** Control requests a token may send per minute after its burst. @default 30 (env OVERSEER_CONTROL_RATE_PER_MINUTE) */
  controlRatePerMinute: number;
  /** How often each replica ends emergency overrides whose expiry passed. @default 1s (env OVERSEER_OVERRIDE_CHECK_INTERVAL_MS) */
  overrideCheckIntervalMs: number;
  /** Per-agent metric series are exported for at most this many agents. @default 500 (env OVERSEER_METRICS_MAX_AGENT_SERIES) */
  metricsMaxAgentSeries: number;
  /** Distinct `role` label values a replica exports; later roles are counted as `other`. @default 100 (env OVERSEER_METRICS_MAX_ROLES) */
  metricsMaxRoles: number;
  /** Distinct `type` (task type) label values a replica exports; later types are counted as `other`. @default 200 (env OVERSEER_METRICS_MAX_TASK_TYPES) */
  metricsMaxTaskTypes: number;
  /** /metrics renders at most once per this interval; scrapes within it, or during a render, share that text. @default 1s (env OVERSEER_METRICS_MIN_RENDER_INTERVAL_MS) */
  metricsMinRenderIntervalMs: number;
  /** The whole-fleet dashboard reads (agents' status, heartbeats, queues; also feed snapshots) are read at most once per this interval for each filter and shared meanwhile. @default 1s (env OVERSEER_DASHBOARD_SNAPSHOT_MS) */
  dashboardSnapshotMs: number;
  /** Grace time for SIGTERM draining before the daemon exits anyway. @default 10s (env OVERSEER_SHUTDOWN_GRACE_MS) */
  shutdownGraceMs: number;
  /** Leader lease time-to-live. @default 5s (env OVERSEER_LEADER_LEASE_MS) */
  leaderLeaseMs: number;
  /** Bearer tokens by role. Generated at start (and logged) when unset. */
  tokens: { admin: string; operator: string; viewer: string };
  /** Which tokens were generated rather than configured (so start-up can say so). */
  generatedSecrets: string[];
  /** Shared secret agents register with; also keys agent tokens. Generated when unset. */
  agentSecret: string;
  /** Postgres connections reserved for accepting pipeline runs (besides OVERSEER_PG_POOL_SIZE). @default 2 (env OVERSEER_PG_INTAKE_POOL_SIZE) */
  pgIntakePoolSize: number;
  /** Postgres connections heavy reads (the training-data export) run on, apart from the main pool, so they cannot take the agent path's connections. @default 2 (env OVERSEER_PG_REPORT_POOL_SIZE) */
  pgReportPoolSize: number;
  /** Statement timeout on the heavy-read pool: a statement running longer is cancelled. @default 30s (env OVERSEER_REPORT_STATEMENT_TIMEOUT_MS) */
  reportStatementTimeoutMs: number;
  /** Heavy reads one token may have running at once; past it, 429 with Retry-After. @default 2 (env OVERSEER_REPORT_MAX_PER_TOKEN) */
  reportMaxPerToken: number;
  /** Heavy reads running at once on this replica, all tokens together; past it, 429 with Retry-After. @default 4 (env OVERSEER_REPORT_MAX_TOTAL) */
  reportMaxTotal: number;
  /** How often the leader's pipeline sweep moves runs whose steps ended or whose snooze is over. @default 1s (env OVERSEER_PIPELINE_SWEEP_INTERVAL_MS) */
  pipelineSweepIntervalMs: number;
  /** How often the schedule loop looks for due ticks. @default 1s (env OVERSEER_SCHEDULE_INTERVAL_MS) */
  scheduleIntervalMs: number;
  /** Directory of pipeline template files (`*.json`) stored at start-up; none when empty. @default "" (env OVERSEER_TEMPLATES_DIR) */
  templatesDir: string;
  /** Whether the leader sends a synthetic canary task through an agent of each role (probes/README.md). @default true (env OVERSEER_CANARY_ENABLED) */
  canaryEnabled: boolean;
  /** How often a canary starts per role (one in flight per role at most). @default 30s (env OVERSEER_CANARY_INTERVAL_MS) */
  canaryIntervalMs: number;
  /** How long a canary may take before it is cancelled and counted as failed. @default 10s (env OVERSEER_CANARY_TIMEOUT_MS) */
  canaryTimeoutMs: number;
  /** LLM prices in USD per million tokens by model, over the self-hosted defaults (env OVERSEER_LLM_PRICING) */
  llmPricing: PriceTable;
  /** Directory of the built console (index.html and its assets) served at /ui; the one `npm run build` writes beside the compiled daemon when empty. @default "" (env OVERSEER_CONSOLE_DIR) */
  consoleDir: string;
  /** Grafana's base URL, for the console's links to the dashboards (`https://grafana.example.com`); the console shows no Grafana links when empty. @default "" (env OVERSEER_GRAFANA_URL) */
  grafanaUrl: string;
  /** Browser origins allowed to open WebSocket feeds (exact `scheme://host[:port]`, or `*`); requests without Origin always pass. @default none (env OVERSEER_WS_ALLOWED_ORIGINS) */
  wsAllowedOrigins: string[];
  /** Messages a feed client may have queued while its snapshot or replay is read; also the longest replay. @default 1000 (env OVERSEER_WS_MAX_QUEUED_MESSAGES) */
  wsMaxQueuedMessages: number;
  /** Unsent bytes a feed client's socket may hold before it is dropped as a slow consumer. @default 1048576 (env OVERSEER_WS_MAX_BUFFERED_BYTES) */
  wsMaxBufferedBytes: number;
  /** Feed connections open at once on this replica, all tokens together; more are refused with 429. @default 1000 (env OVERSEER_WS_MAX_CLIENTS) */
  wsMaxClients: number;
  /** Feed connections one token may hold open at once on this replica; more are refused with 429. @default 50 (env OVERSEER_WS_MAX_CLIENTS_PER_TOKEN) */
  wsMaxClientsPerToken: number;
  /** How often feed clients are pinged; one without a pong by the next ping is dropped. @default 30s (env OVERSEER_WS_PING_INTERVAL_MS) */
  wsPingIntervalMs: number;
  /** Hard cap on the events kept in the namespace's Redis stream (approximate, `MAXLEN ~`): bounds Redis memory whatever the traffic. @default 100000 (env OVERSEER_WS_STREAM_MAXLEN) */
  wsStreamMaxLen: number;
  /** How long events stay in the namespace's Redis stream, so a feed client can resume after a gap this long (`XTRIM MINID ~`; the entry cap wins). @default 15m (env OVERSEER_WS_STREAM_RETENTION_MS) */
  wsStreamRetentionMs: number;
  /** JSON file of agent processes this replica runs and restarts (docs/recovery.md); none when empty. @default "" (env OVERSEER_MANAGED_AGENTS_FILE) */
  managedAgentsFile: string;
  /** The leader's automatic healing strategy, or off. @default "off" (env OVERSEER_AUTO_HEAL) */
  autoHeal: "off" | "conservative" | "smart" | "aggressive";
  /** How often the leader's auto-heal pass runs. @default 30s (env OVERSEER_AUTO_HEAL_INTERVAL_MS) */
  autoHealIntervalMs: number;
  /** The window auto-heal's intensity limits count over. @default 5m (env OVERSEER_HEAL_WINDOW_MS) */
  healWindowMs: number;
  /** Auto-heal actions of one kind per window, at most. @default 10 (env OVERSEER_HEAL_MAX_ACTIONS) */
  healMaxActions: number;
  /** Auto-heal restarts of one agent (by name) per window, at most. @default 3 (env OVERSEER_HEAL_MAX_AGENT_RESTARTS) */
  healMaxAgentRestarts: number;
  /** How often the leader's retention pass deletes history older than its keep (docs/retention.md). @default 1m (env OVERSEER_RETENTION_INTERVAL_MS) */
  retentionIntervalMs: number;
  /** How long finished history is kept, in ms; 0 = forever (docs/retention.md). Env OVERSEER_RETENTION_TASKS (7 d), _RUNS (7 d), _HISTORY (7 d), _LLM_CALLS (90 d), _AUDIT (365 d). */
  retention: RetentionKeep;
  /** Pino log level. @default "info" (env LOG_LEVEL) */
  logLevel: string;
  /** Where embedded services keep data. @default ".overseer" (env OVERSEER_DATA_DIR) */
  dataDir: string;
  /** Start embedded Redis/Postgres when no URL is set and the defaults do not answer. @default true (env OVERSEER_EMBEDDED) */
  allowEmbedded: boolean;
  /** Traces from the standard OTEL_* variables (docs/tracing.md); null when no exporter is configured. */
  tracing: TracingSettings | null;
}

/** Thrown for a bad configuration value; start-up prints it and exits with code 78 (EX_CONFIG). */
export class ConfigError extends Error {
  readonly exitCode = 78;
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

const DAY_MS = 86_400_000;

/** Compiles the environment into a validated config; throws ConfigError listing every bad value. */
export function compileConfig(env: Env = process.env): OverseerConfig {
  const problems: string[] = [];
  const generatedSecrets: string[] = [];

  const int = envIntReader(env, problems);
  const duration = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    try {
      const value = parseDurationMs(raw);
      if (value < min || value > max) {
        problems.push(`${name}=${JSON.stringify(raw)}: must be between ${min}ms and ${max}ms`);
        return fallback;
      }
      return value;
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
      return fallback;
    }
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name}=${JSON.stringify(raw)}: expected true or false`);
    return fallback;
  };
  const url = (name: string, fallback: string, protocols: string[]): string => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) {
        problems.push(`${name}: protocol must be one of ${protocols.join(", ")}`);
      }
    } catch {
      problems.push(`${name}: not a valid URL`);
    }
    return raw;
  };
  const secret = (name: string): string => {
    const raw = env[name];
    if (raw === undefined || raw === "") {
      generatedSecrets.push(name);
      return randomBytes(24).toString("base64url");
    }
    if (raw.length < 16) problems.push(`${name}: must be at least 16 characters`);
    return raw;
  };

  const heartbeatIntervalMs = duration("OVERSEER_HEARTBEAT_INTERVAL_MS", 1_000, 10, 600_000);
  const agentDeadAfterMs = duration("OVERSEER_AGENT_DEAD_AFTER_MS", 3_000, 20, 3_600_000);
  const agentStaleAfterMs = duration(
    "OVERSEER_AGENT_STALE_AFTER_MS",
    Math.min(2 * heartbeatIntervalMs, agentDeadAfterMs - 1),
    10,
    3_600_000,
  );
  if (agentDeadAfterMs <= heartbeatIntervalMs) {
    problems.push(
      `OVERSEER_AGENT_DEAD_AFTER_MS (${agentDeadAfterMs}) must be longer than OVERSEER_HEARTBEAT_INTERVAL_MS (${heartbeatIntervalMs}), or every agent dies between heartbeats`,
    );
  }
  if (agentStaleAfterMs >= agentDeadAfterMs) {
    problems.push(
      `OVERSEER_AGENT_STALE_AFTER_MS (${agentStaleAfterMs}) must be shorter than OVERSEER_AGENT_DEAD_AFTER_MS (${agentDeadAfterMs})`,
    );
  }
  const namespace = env.OVERSEER_NAMESPACE || "default";
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(namespace)) {
    problems.push(
      `OVERSEER_NAMESPACE=${JSON.stringify(namespace)}: lower-case letters, digits and _ (start with a letter, at most 40)`,
    );
  }
  const retryBaseMs = duration("OVERSEER_RETRY_BASE_MS", 1_000, 1, 3_600_000);
  const retryMaxMs = duration("OVERSEER_RETRY_MAX_MS", 60_000, 1, 86_400_000);
  if (retryMaxMs < retryBaseMs)
    problems.push("OVERSEER_RETRY_MAX_MS must not be below OVERSEER_RETRY_BASE_MS");
  const logLevel = env.LOG_LEVEL || "info";
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) {
    problems.push(
      `LOG_LEVEL=${JSON.stringify(logLevel)}: one of fatal, error, warn, info, debug, trace, silent`,
    );
  }

  const wsAllowedOrigins = (env.OVERSEER_WS_ALLOWED_ORIGINS ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of wsAllowedOrigins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      problems.push(
        `OVERSEER_WS_ALLOWED_ORIGINS: ${JSON.stringify(origin)} is not an origin (scheme://host[:port], no path) or *`,
      );
    }
  }

  const grafanaUrl = (env.OVERSEER_GRAFANA_URL ?? "").trim().replace(/\/+$/, "");
  if (grafanaUrl !== "" && !/^https?:\/\/[^\s]+$/.test(grafanaUrl)) {
    problems.push(
      `OVERSEER_GRAFANA_URL=${JSON.stringify(grafanaUrl)}: an http(s) URL, e.g. https://grafana.example.com`,
    );
  }

  const redisCluster = parseClusterNodes(env.REDIS_CLUSTER_NODES);
  problems.push(...redisCluster.problems);

  const pricing = parsePricing(env.OVERSEER_LLM_PRICING);
  problems.push(...pricing.problems);

  // The standard OpenTelemetry variables (docs/tracing.md): tracing is off unless an exporter is named.
  const tracing = tracingSettings(
    {
      OTEL_SDK_DISABLED: env.OTEL_SDK_DISABLED,
      OTEL_TRACES_EXPORTER: env.OTEL_TRACES_EXPORTER,
      OTEL_EXPORTER_OTLP_ENDPOINT: env.OTEL_EXPORTER_OTLP_ENDPOINT,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
      OTEL_EXPORTER_OTLP_HEADERS: env.OTEL_EXPORTER_OTLP_HEADERS,
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: env.OTEL_EXPORTER_OTLP_TRACES_HEADERS,
      OTEL_EXPORTER_OTLP_PROTOCOL: env.OTEL_EXPORTER_OTLP_PROTOCOL,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
      OTEL_SERVICE_NAME: env.OTEL_SERVICE_NAME,
      OTEL_RESOURCE_ATTRIBUTES: env.OTEL_RESOURCE_ATTRIBUTES,
      OTEL_TRACES_SAMPLER: env.OTEL_TRACES_SAMPLER,
      OTEL_TRACES_SAMPLER_ARG: env.OTEL_TRACES_SAMPLER_ARG,
    },
    "overseer",
  );
  problems.push(...tracing.problems);

  const config: OverseerConfig = {
    port: int("PORT", 8080, 0, 65_535),
    host: env.HOST || "0.0.0.0",
    redisUrl: url("REDIS_URL", "redis://127.0.0.1:6379", ["redis:", "rediss:"]),
    redisUrlExplicit: Boolean(env.REDIS_URL) || redisCluster.nodes.length > 0,
    redisClusterNodes: redisCluster.nodes,
    databaseUrl: url("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres", [
      "postgres:",
      "postgresql:",
    ]),
    databaseUrlExplicit: Boolean(env.DATABASE_URL),
    pgPoolSize: int("OVERSEER_PG_POOL_SIZE", 10, 1, 1_000),
    pgIntakePoolSize: int("OVERSEER_PG_INTAKE_POOL_SIZE", 2, 1, 100),
    pgReportPoolSize: int("OVERSEER_PG_REPORT_POOL_SIZE", 2, 1, 100),
    reportStatementTimeoutMs: duration("OVERSEER_REPORT_STATEMENT_TIMEOUT_MS", 30_000, 100, 3_600_000),
    reportMaxPerToken: int("OVERSEER_REPORT_MAX_PER_TOKEN", 2, 1, 1_000),
    reportMaxTotal: int("OVERSEER_REPORT_MAX_TOTAL", 4, 1, 10_000),
    namespace,
    heartbeatIntervalMs,
    agentStaleAfterMs,
    agentDeadAfterMs,
    sweepIntervalMs: duration(
      "OVERSEER_SWEEP_INTERVAL_MS",
      Math.max(10, Math.min(250, Math.floor(heartbeatIntervalMs / 2))),
      5,
      60_000,
    ),
    reconcileIntervalMs: duration("OVERSEER_RECONCILE_INTERVAL_MS", 10_000, 100, 3_600_000),
    defaultMaxAttempts: int("OVERSEER_DEFAULT_MAX_ATTEMPTS", 3, 1, 1_000),
    defaultTaskTimeoutMs: duration("OVERSEER_DEFAULT_TASK_TIMEOUT_MS", 300_000, 100, 7 * 86_400_000),
    retryBaseMs,
    retryMaxMs,
    claimMaxWaitMs: duration("OVERSEER_CLAIM_MAX_WAIT_MS", 30_000, 0, 300_000),
    sessionGraceMs: duration("OVERSEER_SESSION_GRACE_MS", 150, 0, 60_000),
    maxBodyBytes: int("OVERSEER_MAX_BODY_BYTES", 1_048_576, 1_024, 104_857_600),
    validateResponses: bool("OVERSEER_VALIDATE_RESPONSES", false),
    controlRateBurst: int("OVERSEER_CONTROL_RATE_BURST", 10, 1, 100_000),
    controlRatePerMinute: int("OVERSEER_CONTROL_RATE_PER_MINUTE", 30, 1, 1_000_000),
    overrideCheckIntervalMs: duration("OVERSEER_OVERRIDE_CHECK_INTERVAL_MS", 1_000, 10, 60_000),
    metricsMaxAgentSeries: int("OVERSEER_METRICS_MAX_AGENT_SERIES", 500, 0, 100_000),
    metricsMaxRoles: int("OVERSEER_METRICS_MAX_ROLES", 100, 1, 100_000),
    metricsMaxTaskTypes: int("OVERSEER_METRICS_MAX_TASK_TYPES", 200, 1, 100_000),
    metricsMinRenderIntervalMs: duration("OVERSEER_METRICS_MIN_RENDER_INTERVAL_MS", 1_000, 0, 60_000),
    dashboardSnapshotMs: duration("OVERSEER_DASHBOARD_SNAPSHOT_MS", 1_000, 0, 60_000),
    shutdownGraceMs: duration("OVERSEER_SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    leaderLeaseMs: duration("OVERSEER_LEADER_LEASE_MS", 5_000, 100, 600_000),
    pipelineSweepIntervalMs: duration("OVERSEER_PIPELINE_SWEEP_INTERVAL_MS", 1_000, 10, 3_600_000),
    retentionIntervalMs: duration("OVERSEER_RETENTION_INTERVAL_MS", 60_000, 100, 86_400_000),
    // Keeps: 0 = forever; the parser has no day unit, so the defaults are written as hours in docs.
    retention: {
      tasksMs: duration("OVERSEER_RETENTION_TASKS", 7 * DAY_MS, 0, 10 * 365 * DAY_MS),
      runsMs: duration("OVERSEER_RETENTION_RUNS", 7 * DAY_MS, 0, 10 * 365 * DAY_MS),
      historyMs: duration("OVERSEER_RETENTION_HISTORY", 7 * DAY_MS, 0, 10 * 365 * DAY_MS),
      llmCallsMs: duration("OVERSEER_RETENTION_LLM_CALLS", 90 * DAY_MS, 0, 10 * 365 * DAY_MS),
      auditMs: duration("OVERSEER_RETENTION_AUDIT", 365 * DAY_MS, 0, 10 * 365 * DAY_MS),
    },
    scheduleIntervalMs: duration("OVERSEER_SCHEDULE_INTERVAL_MS", 1_000, 10, 60_000),
    templatesDir: env.OVERSEER_TEMPLATES_DIR ?? "",
    consoleDir: env.OVERSEER_CONSOLE_DIR ?? "",
    grafanaUrl,
    canaryEnabled: bool("OVERSEER_CANARY_ENABLED", true),
    canaryIntervalMs: duration("OVERSEER_CANARY_INTERVAL_MS", 30_000, 50, 3_600_000),
    canaryTimeoutMs: duration("OVERSEER_CANARY_TIMEOUT_MS", 10_000, 50, 600_000),
    tokens: {
      admin: secret("OVERSEER_ADMIN_TOKEN"),
      operator: secret("OVERSEER_OPERATOR_TOKEN"),
      viewer: secret("OVERSEER_VIEWER_TOKEN"),
    },
    agentSecret: secret("OVERSEER_AGENT_SECRET"),
    generatedSecrets,
    llmPricing: pricing.prices,
    wsAllowedOrigins,
    wsMaxQueuedMessages: int("OVERSEER_WS_MAX_QUEUED_MESSAGES", 1_000, 10, 1_000_000),
    wsMaxBufferedBytes: int("OVERSEER_WS_MAX_BUFFERED_BYTES", 1_048_576, 1_024, 1_073_741_824),
    wsMaxClients: int("OVERSEER_WS_MAX_CLIENTS", 1_000, 1, 1_000_000),
    wsMaxClientsPerToken: int("OVERSEER_WS_MAX_CLIENTS_PER_TOKEN", 50, 1, 1_000_000),
    wsPingIntervalMs: duration("OVERSEER_WS_PING_INTERVAL_MS", 30_000, 10, 600_000),
    wsStreamMaxLen: int("OVERSEER_WS_STREAM_MAXLEN", 100_000, 10, 10_000_000),
    wsStreamRetentionMs: duration("OVERSEER_WS_STREAM_RETENTION_MS", 900_000, 1_000, 86_400_000),
    managedAgentsFile: env.OVERSEER_MANAGED_AGENTS_FILE ?? "",
    autoHeal: autoHealStrategy(env.OVERSEER_AUTO_HEAL, problems),
    autoHealIntervalMs: duration("OVERSEER_AUTO_HEAL_INTERVAL_MS", 30_000, 50, 3_600_000),
    healWindowMs: duration("OVERSEER_HEAL_WINDOW_MS", 300_000, 1_000, 86_400_000),
    healMaxActions: int("OVERSEER_HEAL_MAX_ACTIONS", 10, 1, 100_000),
    healMaxAgentRestarts: int("OVERSEER_HEAL_MAX_AGENT_RESTARTS", 3, 0, 1_000),
    logLevel,
    dataDir: env.OVERSEER_DATA_DIR || ".overseer",
    allowEmbedded: bool("OVERSEER_EMBEDDED", true),
    tracing: tracing.settings,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

const AUTO_HEAL = ["off", "conservative", "smart", "aggressive"] as const;

function autoHealStrategy(raw: string | undefined, problems: string[]): OverseerConfig["autoHeal"] {
  if (raw === undefined || raw === "") return "off";
  if ((AUTO_HEAL as readonly string[]).includes(raw)) return raw as OverseerConfig["autoHeal"];
  problems.push(`OVERSEER_AUTO_HEAL=${JSON.stringify(raw)}: one of ${AUTO_HEAL.join(", ")}`);
  return "off";
}
