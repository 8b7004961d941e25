import { describe, expect, it } from "vitest";
import { compileConfig } from "../../daemon/config/compile-config.ts";
import { parseClusterNodes } from "../../daemon/store/redis/redis-connect.ts";

describe("REDIS_CLUSTER_NODES", () => {
  it("parses comma-separated host:port seeds, IPv6 in brackets", () => {
    expect(parseClusterNodes(" 10.0.0.1:7000, redis-b:7001 ,[::1]:7002,")).toEqual({
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "redis-b", port: 7001 },
        { host: "::1", port: 7002 },
      ],
      problems: [],
    });
    expect(parseClusterNodes(undefined)).toEqual({ nodes: [], problems: [] });
  });

  it("names every entry it cannot read", () => {
    expect(parseClusterNodes("redis-a,redis-b:0,redis-c:70000,redis-d:7000").problems).toEqual([
      'REDIS_CLUSTER_NODES: "redis-a" is not host:port',
      'REDIS_CLUSTER_NODES: "redis-b:0" is not host:port',
      'REDIS_CLUSTER_NODES: "redis-c:70000" is not host:port',
    ]);
    expect(() => compileConfig({ REDIS_CLUSTER_NODES: "redis-a" })).toThrow(/REDIS_CLUSTER_NODES/);
  });

  it("counts as an explicit Redis, so no embedded server replaces it", () => {
    const c = compileConfig({ REDIS_CLUSTER_NODES: "127.0.0.1:7000" });
    expect(c.redisClusterNodes).toEqual([{ host: "127.0.0.1", port: 7000 }]);
    expect(c.redisUrlExplicit).toBe(true);
    expect(compileConfig({}).redisClusterNodes).toEqual([]);
  });
});
