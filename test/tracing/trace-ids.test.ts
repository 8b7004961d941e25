import { describe, expect, it } from "vitest";
import { formatTraceparent, parseTraceparent } from "../../contract/telemetry/trace-context.ts";
import { tracingSettings } from "../../contract/telemetry/tracing-config.ts";
import {
  attemptParentOf,
  DeterministicIdGenerator,
  spanIds,
  stepTaskTraceParent,
  traceIdOf,
} from "../../daemon/telemetry/trace-ids.ts";

const RUN = "0af76519-16cd-43dd-8448-eb211c80319c";

describe("deterministic ids", () => {
  it("derives the same ids on every replica, distinct per run, step generation and attempt", () => {
    expect(traceIdOf(RUN)).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(traceIdOf("not-a-uuid")).toMatch(/^[0-9a-f]{32}$/);
    expect(spanIds.run(RUN)).toBe(spanIds.run(RUN));
    expect(spanIds.run(RUN)).toMatch(/^[0-9a-f]{16}$/);
    const ids = [
      spanIds.run(RUN),
      spanIds.step(RUN, "plan", 0),
      spanIds.step(RUN, "plan", 1),
      spanIds.step(RUN, "review", 0),
      spanIds.attempt(RUN, 1),
      spanIds.attempt(RUN, 2),
      spanIds.task(RUN),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("a step's task hangs its attempts under the step span; a task of its own under its task span", () => {
    const stored = stepTaskTraceParent(RUN, "plan", 2);
    expect(attemptParentOf("any-task", stored)).toEqual({
      traceId: traceIdOf(RUN),
      spanId: spanIds.step(RUN, "plan", 2),
    });
    expect(attemptParentOf(RUN, null)).toEqual({ traceId: traceIdOf(RUN), spanId: spanIds.task(RUN) });
  });

  it("the id generator hands out the ids it was told, once, then random ones", () => {
    const g = new DeterministicIdGenerator();
    const got = g.use({ traceId: "a".repeat(32), spanId: "b".repeat(16) }, () => [
      g.generateSpanId(),
      g.generateTraceId(),
    ]);
    expect(got).toEqual(["b".repeat(16), "a".repeat(32)]);
    expect(g.generateSpanId()).not.toBe("b".repeat(16));
    expect(g.generateTraceId()).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe("traceparent", () => {
  it("parses and formats W3C values, rejecting malformed and all-zero ones", () => {
    const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const ctx = parseTraceparent(tp);
    expect(ctx).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      traceFlags: 1,
      isRemote: true,
    });
    expect(formatTraceparent(ctx as NonNullable<typeof ctx>)).toBe(tp);
    for (const bad of [
      undefined,
      "",
      "garbage",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
    ]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });
});

describe("tracing settings from OTEL_*", () => {
  it("is off with nothing set, with `none`, or with OTEL_SDK_DISABLED", () => {
    expect(tracingSettings({}, "overseer")).toEqual({ settings: null, problems: [] });
    expect(
      tracingSettings({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }, "o")
        .settings,
    ).toBeNull();
    expect(
      tracingSettings({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }, "o")
        .settings,
    ).toBeNull();
  });

  it("an endpoint alone turns it on; the traces endpoint, headers, resource and sampler are honoured", () => {
    const { settings, problems } = tracingSettings(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/",
        OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20abc,x-tenant=t1",
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-tenant=t2",
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod,service.name=from-resource",
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "0.25",
      },
      "overseer",
    );
    expect(problems).toEqual([]);
    expect(settings).toEqual({
      exporter: "otlp",
      url: "http://collector:4318/v1/traces",
      headers: { authorization: "Bearer abc", "x-tenant": "t2" },
      serviceName: "from-resource",
      resourceAttributes: { "deployment.environment": "prod", "service.name": "from-resource" },
      sampler: "parentbased_traceidratio",
      samplerRatio: 0.25,
    });
    const named = tracingSettings(
      {
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://tempo/otlp/v1/traces",
        OTEL_SERVICE_NAME: "overseer-eu",
      },
      "overseer",
    ).settings;
    expect(named).toMatchObject({
      url: "https://tempo/otlp/v1/traces",
      serviceName: "overseer-eu",
      sampler: "parentbased_always_on",
    });
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: "otlp" }, "overseer").settings?.url).toBe(
      "http://localhost:4318/v1/traces",
    );
  });

  it("reports bad values", () => {
    const { problems } = tracingSettings(
      {
        OTEL_TRACES_EXPORTER: "zipkin",
        OTEL_TRACES_SAMPLER: "sometimes",
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://x",
      },
      "overseer",
    );
    expect(problems).toHaveLength(4);
  });
});
