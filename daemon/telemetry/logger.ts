import { context, isSpanContextValid, trace } from "@opentelemetry/api";
import pino, { type Logger } from "pino";

/**
 * `trace_id` and `span_id` of the active span, for every log line written inside one (the OTel log
 * data model's names). Without a registered tracing SDK there is never an active span: `{}`.
 */
export function traceLogFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/** The daemon's logger: JSON lines, minimal serializers (never request bodies or tokens). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "overseer" },
      redact: {
        paths: ["req.headers.authorization", "token", "*.token", "agentSecret"],
        censor: "[redacted]",
      },
      serializers: { err: pino.stdSerializers.err },
      mixin: traceLogFields,
    },
    destination,
  );
}
