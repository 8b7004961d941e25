// Tracing settings from the standard OpenTelemetry environment variables
// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/). Pure: the
// daemon's compileConfig and the SDK's startTracingFromEnv both read them through here, so an agent
// and the daemon given the same variables trace the same way.

/** The variables read; every one is optional. */
export interface TracingEnv {
  OTEL_SDK_DISABLED?: string | undefined;
  OTEL_TRACES_EXPORTER?: string | undefined;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_HEADERS?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_HEADERS?: string | undefined;
  OTEL_EXPORTER_OTLP_PROTOCOL?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: string | undefined;
  OTEL_SERVICE_NAME?: string | undefined;
  OTEL_RESOURCE_ATTRIBUTES?: string | undefined;
  OTEL_TRACES_SAMPLER?: string | undefined;
  OTEL_TRACES_SAMPLER_ARG?: string | undefined;
}

export const TRACES_SAMPLERS = [
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
  "always_on",
  "always_off",
  "traceidratio",
] as const;
export type TracesSampler = (typeof TRACES_SAMPLERS)[number];

/** What a provider is built from; null settings mean tracing is off. */
export interface TracingSettings {
  /** `otlp` (OTLP/HTTP with JSON bodies) or `console` (spans printed to stdout, for debugging). */
  exporter: "otlp" | "console";
  /** Full URL spans are POSTed to (the traces endpoint, or the base endpoint + `/v1/traces`). */
  url: string;
  headers: Record<string, string>;
  serviceName: string;
  /** From OTEL_RESOURCE_ATTRIBUTES; `service.name` there loses to OTEL_SERVICE_NAME. */
  resourceAttributes: Record<string, string>;
  sampler: TracesSampler;
  /** Ratio for the traceidratio samplers, 0–1 (default 1). */
  samplerRatio: number;
}

export const DEFAULT_OTLP_TRACES_URL = "http://localhost:4318/v1/traces";

const set = (v: string | undefined): v is string => v !== undefined && v.trim() !== "";

/**
 * Tracing is on when an exporter is configured: OTEL_TRACES_EXPORTER names one (`otlp`, `console`),
 * or it is unset and an OTLP endpoint is given. `none`, OTEL_SDK_DISABLED=true, or nothing set at
 * all mean off (null). Bad values are returned as problems (the daemon refuses to start on them).
 */
export function tracingSettings(
  env: TracingEnv,
  defaultServiceName: string,
): { settings: TracingSettings | null; problems: string[] } {
  const problems: string[] = [];
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== "");
  const disabled = (env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true";
  let exporter: TracingSettings["exporter"] | null = null;
  if (exporters.length === 0) {
    exporter = set(endpoint) || set(tracesEndpoint) ? "otlp" : null;
  } else if (!exporters.includes("none")) {
    const known = exporters.filter((e) => e === "otlp" || e === "console");
    const unknown = exporters.filter((e) => e !== "otlp" && e !== "console");
    if (unknown.length > 0) {
      problems.push(
        `OTEL_TRACES_EXPORTER=${JSON.stringify(env.OTEL_TRACES_EXPORTER)}: otlp, console or none`,
      );
    }
    exporter = known.includes("otlp") ? "otlp" : known.includes("console") ? "console" : null;
  }

  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || "").trim();
  if (protocol !== "" && protocol !== "http/json" && protocol !== "http/protobuf") {
    problems.push(
      `OTEL_EXPORTER_OTLP_PROTOCOL=${JSON.stringify(protocol)}: http/json (http/protobuf is accepted and sent as JSON); grpc is not supported`,
    );
  }

  let url = DEFAULT_OTLP_TRACES_URL;
  if (set(tracesEndpoint)) url = tracesEndpoint;
  else if (set(endpoint)) url = `${endpoint.replace(/\/+$/, "")}/v1/traces`;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error("not http");
  } catch {
    problems.push(`OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT=${JSON.stringify(url)}: an http: or https: URL`);
  }

  const headers = {
    ...keyValues(env.OTEL_EXPORTER_OTLP_HEADERS, "OTEL_EXPORTER_OTLP_HEADERS", problems),
    ...keyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", problems),
  };
  const resourceAttributes = keyValues(env.OTEL_RESOURCE_ATTRIBUTES, "OTEL_RESOURCE_ATTRIBUTES", problems);
  const serviceName = set(env.OTEL_SERVICE_NAME)
    ? env.OTEL_SERVICE_NAME.trim()
    : (resourceAttributes["service.name"] ?? defaultServiceName);

  const samplerName = (env.OTEL_TRACES_SAMPLER ?? "").trim().toLowerCase() || "parentbased_always_on";
  let sampler: TracesSampler = "parentbased_always_on";
  if ((TRACES_SAMPLERS as readonly string[]).includes(samplerName)) sampler = samplerName as TracesSampler;
  else
    problems.push(`OTEL_TRACES_SAMPLER=${JSON.stringify(samplerName)}: one of ${TRACES_SAMPLERS.join(", ")}`);
  let samplerRatio = 1;
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  if (set(arg) && sampler.endsWith("traceidratio")) {
    const ratio = Number(arg);
    if (Number.isFinite(ratio) && ratio >= 0 && ratio <= 1) samplerRatio = ratio;
    else problems.push(`OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(arg)}: a number 0–1`);
  }

  if (disabled || exporter === null) return { settings: null, problems };
  return {
    settings: { exporter, url, headers, serviceName, resourceAttributes, sampler, samplerRatio },
    problems,
  };
}

/** `k1=v1,k2=v2` with percent-encoded values (the W3C Baggage format the spec uses for both). */
function keyValues(raw: string | undefined, name: string, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!set(raw)) return out;
  for (const part of raw.split(",")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    const key = eq > 0 ? part.slice(0, eq).trim() : "";
    if (key === "") {
      problems.push(`${name}: ${JSON.stringify(part.trim())} is not key=value`);
      continue;
    }
    const value = part.slice(eq + 1).trim();
    try {
      out[key] = decodeURIComponent(value);
    } catch {
      out[key] = value;
    }
  }
  return out;
}
