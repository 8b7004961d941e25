// W3C Trace Context `traceparent` values (https://www.w3.org/TR/trace-context/#traceparent-header):
// the claim answer carries one per task, and complete/fail send one back. Pure functions on
// @opentelemetry/api types only, so they cost nothing when no tracing SDK is registered.

import { type SpanContext, TraceFlags } from "@opentelemetry/api";

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/**
 * The span context a `traceparent` names, marked remote; undefined for anything malformed, the
 * all-zero ids, or version `ff`. Later versions are read as version 00, as the spec asks.
 */
export function parseTraceparent(value: unknown): SpanContext | undefined {
  if (typeof value !== "string") return undefined;
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags] = m as unknown as [string, string, string, string, string];
  if (version === "ff" || (version === "00" && value.trim().length !== 55)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED, isRemote: true };
}

/** `00-<trace id>-<span id>-<flags>` for a span context. */
export function formatTraceparent(ctx: Pick<SpanContext, "traceId" | "spanId" | "traceFlags">): string {
  const flags = (ctx.traceFlags & 0xff).toString(16).padStart(2, "0");
  return `00-${ctx.traceId}-${ctx.spanId}-${flags}`;
}
