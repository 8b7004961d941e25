// Opt-in tracing for an agent process (and the daemon, which builds on it): registers an
// OpenTelemetry tracer provider configured by the standard OTEL_* variables (tracing-config.ts), so
// the SDK's spans (the task handler span, the GenAI spans of ctx.llm calls) are exported.
//
//   const tracing = await startTracingFromEnv(process.env, { serviceName: "my-agent" });
//   ...
//   await tracing?.shutdown(); // flushes
//
// With no exporter configured it returns null and loads nothing: the OpenTelemetry SDK packages are
// imported only when tracing is on, and the SDK's instrumentation stays on the no-op API.

import { context, propagation, type TracerProvider, trace } from "@opentelemetry/api";
import type { IdGenerator, Sampler, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { type TracingEnv, type TracingSettings, tracingSettings } from "./tracing-config.ts";

export interface TracingHandle {
  readonly settings: TracingSettings;
  readonly provider: TracerProvider;
  /** The sampler the provider uses (the daemon asks it for the sampled flag of the traceparents it hands out). */
  readonly sampler: Sampler;
  /** Exports what is buffered. Never rejects. */
  forceFlush(): Promise<void>;
  /** Flushes, stops exporting and unregisters the global provider (if this registered it). Never rejects. */
  shutdown(): Promise<void>;
}

export interface StartTracingOptions {
  /** Register as the global provider, with the async-hooks context manager and W3C propagator; default true. */
  register?: boolean;
  /** Ids for new spans; default random. */
  idGenerator?: IdGenerator;
  /** Added to the resource (under OTEL_RESOURCE_ATTRIBUTES and the service name). */
  resourceAttributes?: Record<string, string>;
  /** Instead of the configured exporter (tests). */
  exporter?: SpanExporter;
}

/**
 * Starts tracing when OTEL_* configure an exporter (see docs/tracing.md), else returns null and
 * does nothing. Throws on bad values (an unknown sampler, a bad endpoint).
 */
export async function startTracingFromEnv(
  env: TracingEnv = process.env,
  opts: StartTracingOptions & { serviceName?: string } = {},
): Promise<TracingHandle | null> {
  const { settings, problems } = tracingSettings(env, opts.serviceName ?? "overseer-agent");
  if (problems.length > 0) throw new Error(`tracing configuration: ${problems.join("; ")}`);
  if (!settings) return null;
  return startTracing(settings, opts);
}

/** Builds (and by default registers) a provider from settings; batches spans to the exporter. */
export async function startTracing(
  settings: TracingSettings,
  opts: StartTracingOptions = {},
): Promise<TracingHandle> {
  const [base, node, resources] = await Promise.all([
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/resources"),
  ]);
  const sampler = buildSampler(base, settings);
  let exporter = opts.exporter;
  if (!exporter) {
    if (settings.exporter === "console") {
      exporter = new base.ConsoleSpanExporter();
    } else {
      const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
      exporter = new OTLPTraceExporter({ url: settings.url, headers: settings.headers });
    }
  }
  const resource = resources.defaultResource().merge(
    resources.resourceFromAttributes({
      ...settings.resourceAttributes,
      ...(opts.resourceAttributes ?? {}),
      "service.name": settings.serviceName,
    }),
  );
  const provider = new node.NodeTracerProvider({
    resource,
    sampler,
    ...(opts.idGenerator ? { idGenerator: opts.idGenerator } : {}),
    spanProcessors: [new base.BatchSpanProcessor(exporter)],
  });
  const register = opts.register ?? true;
  if (register) provider.register();
  let stopped: Promise<void> | null = null;
  return {
    settings,
    provider,
    sampler,
    forceFlush: () => provider.forceFlush().catch(() => {}),
    shutdown() {
      stopped ??= (async () => {
        await provider.shutdown().catch(() => {});
        if (register) {
          trace.disable();
          context.disable();
          propagation.disable();
        }
      })();
      return stopped;
    },
  };
}

function buildSampler(base: typeof import("@opentelemetry/sdk-trace-base"), s: TracingSettings): Sampler {
  const ratio = () => new base.TraceIdRatioBasedSampler(s.samplerRatio);
  switch (s.sampler) {
    case "always_on":
      return new base.AlwaysOnSampler();
    case "always_off":
      return new base.AlwaysOffSampler();
    case "traceidratio":
      return ratio();
    case "parentbased_always_off":
      return new base.ParentBasedSampler({ root: new base.AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new base.ParentBasedSampler({ root: ratio() });
    default:
      return new base.ParentBasedSampler({ root: new base.AlwaysOnSampler() });
  }
}
