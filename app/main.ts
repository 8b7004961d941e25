import type { Logger } from "pino";
import { isEntryPoint } from "../contract/entry-point.ts";
import { ConfigError, compileConfig, type OverseerConfig } from "../daemon/config/compile-config.ts";
import { createLogger } from "../daemon/telemetry/logger.ts";
import { startTracing } from "../daemon/telemetry/tracing.ts";
import { OverseerDaemon } from "./overseer-daemon.ts";

/** What a caller running the daemon in its own process (the demo) may add. */
export interface RunOptions {
  /** Runs on SIGTERM/SIGINT before the daemon drains. */
  beforeStop?: () => Promise<void>;
  /** The logger to use instead of JSON lines on stdout (the demo's terminal view writes them to a file). */
  logger?: Logger;
}

/**
 * `npm start`: runs the daemon until SIGTERM/SIGINT, then drains within the grace time and exits 0.
 * A bad configuration exits 78; an unexpected error logs, stops and exits 1 so the process
 * supervisor restarts it (a restarted daemon converges from Redis and Postgres).
 */
export async function runDaemon(config: OverseerConfig, options: RunOptions = {}): Promise<OverseerDaemon> {
  const log = options.logger ?? createLogger(config.logLevel);
  if (config.generatedSecrets.length > 0) {
    log.warn(
      {
        generated: config.generatedSecrets,
        adminToken: config.generatedSecrets.includes("OVERSEER_ADMIN_TOKEN")
          ? config.tokens.admin
          : undefined,
        operatorToken: config.generatedSecrets.includes("OVERSEER_OPERATOR_TOKEN")
          ? config.tokens.operator
          : undefined,
        viewerToken: config.generatedSecrets.includes("OVERSEER_VIEWER_TOKEN")
          ? config.tokens.viewer
          : undefined,
        agentSecret: config.generatedSecrets.includes("OVERSEER_AGENT_SECRET")
          ? config.agentSecret
          : undefined,
      },
      "secrets not configured: generated for this run only (set them in the environment for production)",
    );
  }
  // Before the daemon starts, so its first spans are kept; with no OTEL_* exporter nothing is registered.
  const tracing = await startTracing(config.tracing, { namespace: config.namespace }).catch((error) => {
    log.error({ err: error }, "tracing could not start: running without traces");
    return null;
  });
  if (tracing) {
    const { exporter, url, serviceName, sampler } = tracing.settings;
    log.info({ exporter, url: exporter === "otlp" ? url : undefined, serviceName, sampler }, "tracing on");
  }
  const daemon = new OverseerDaemon({ config, logger: log, tracing });
  let exiting = false;
  const shutdown = async (signal: string, code: number) => {
    if (exiting) return;
    exiting = true;
    log.info({ signal, graceMs: config.shutdownGraceMs }, "draining");
    const timer = setTimeout(() => {
      log.error({ graceMs: config.shutdownGraceMs }, "drain overran the grace time: exiting anyway");
      process.exit(1);
    }, config.shutdownGraceMs);
    timer.unref();
    await options.beforeStop?.().catch((error) => log.error({ err: error }, "error before draining"));
    await daemon.stop().catch((error) => log.error({ err: error }, "error while draining"));
    await flushed(log);
    process.exit(code);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));
  process.on("SIGINT", () => void shutdown("SIGINT", 0));
  process.on("uncaughtException", (error) => {
    log.fatal({ err: error }, "uncaught exception");
    void shutdown("uncaughtException", 1);
  });
  process.on("unhandledRejection", (error) => {
    log.fatal({ err: error }, "unhandled rejection");
    void shutdown("unhandledRejection", 1);
  });
  await daemon.start();
  return daemon;
}

/**
 * Waits (at most a second) for the log lines still being written: the exit handler's synchronous
 * flush would otherwise write the queued lines before one whose write to a full stdout pipe is
 * still pending, and the last lines (the lifecycle's DRAINING, STOPPED) would come out of order.
 */
function flushed(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1_000);
    log.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Compiles the config or exits 78 with every problem listed. */
export function configOrExit(): OverseerConfig {
  try {
    return compileConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`overseer: ${error.message}\n`);
      process.exit(error.exitCode);
    }
    throw error;
  }
}

if (isEntryPoint(import.meta.url)) {
  runDaemon(configOrExit()).catch((error) => {
    process.stderr.write(`overseer: failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
