import { describe, expect, it } from "vitest";
import { checkFiles } from "../../tools/check-dependencies.ts";

/** The dependency and storage rule (docs/architecture.md) as tools/check-dependencies.ts enforces it. */
const problemsOf = (path: string, text: string) => checkFiles([{ path, text }]);

describe("dependency rule", () => {
  it("refuses upward imports and server code importing the SDK", () => {
    expect(problemsOf("daemon/tasks/x.ts", 'import { buildServer } from "../../api/server.ts";')).toEqual([
      "daemon/tasks/x.ts imports api/server.ts: daemon/ may not import api/ (allowed: contract/)",
    ]);
    expect(
      problemsOf("contract/x.ts", 'import type { TaskView } from "../daemon/store/task-rows.ts";'),
    ).toHaveLength(1);
    expect(problemsOf("daemon/x.ts", 'import { Agent } from "../sdk/agent.ts";')).toHaveLength(1);
    expect(problemsOf("api/x.ts", 'import { TaskStore } from "../daemon/store/task-store.ts";')[0]).toMatch(
      /api\/ may not import daemon\/store\//,
    );
    expect(
      problemsOf("daemon/store/x.ts", 'import type { TaskService } from "../tasks/task-service.ts";'),
    ).toHaveLength(1);
    expect(problemsOf("sdk/x.ts", 'const m = await import("../app/main.ts");')).toHaveLength(1);
  });

  it("keeps the storage drivers, SQL, Lua and Redis keys at the bottom", () => {
    expect(problemsOf("daemon/tasks/x.ts", 'import type pg from "pg";')[0]).toMatch(
      /may not import the package pg/,
    );
    expect(problemsOf("probes/x.ts", 'import { Redis } from "ioredis";')).toHaveLength(1);
    expect(
      problemsOf("recovery/x.ts", 'await db.query("SELECT id FROM tasks WHERE state = $1", [s]);')[0],
    ).toMatch(/holds SQL/);
    expect(problemsOf("daemon/x.ts", "const lua = `return redis.call('GET', KEYS[1])`;")[0]).toMatch(
      /holds Lua/,
    );
    const literal = ["const key = `ovs:{", "$", "{ns}}:mine`;"].join("");
    expect(problemsOf("daemon/x.ts", literal)[0]).toMatch(/builds a Redis key/);
  });

  it("allows what the rule allows", () => {
    expect(problemsOf("daemon/tasks/x.ts", 'import { TaskStore } from "../store/task-store.ts";')).toEqual(
      [],
    );
    expect(problemsOf("daemon/store/x.ts", 'import pg from "pg";\nawait q.query("SELECT 1");')).toEqual([]);
    expect(
      problemsOf("api/x.ts", 'import type { TaskService } from "../daemon/tasks/task-service.ts";'),
    ).toEqual([]);
    expect(problemsOf("sdk/x.ts", 'import { TaskView } from "../contract/schemas/tasks.ts";')).toEqual([]);
    expect(problemsOf("app/x.ts", 'import { Redis } from "ioredis";\nimport "../api/server.ts";')).toEqual(
      [],
    );
    expect(
      problemsOf("test/x.ts", 'import "../sdk/agent.ts";\nimport "../daemon/store/pg-pool.ts";'),
    ).toEqual([]);
  });
});
