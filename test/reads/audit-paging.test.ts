import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog } from "../../daemon/store/audit-log.ts";
import { runCli } from "../cli/cli-process.ts";
import type { ApiResponse } from "../helpers/api-client.ts";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon-harness.ts";
import { namespaceDb } from "../helpers/namespace-cleanup.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * Issue 15: GET /api/audit sorted ids as text (9 above 17), so paging skipped 10..17; and the
 * dashboard's agent list applied its limit before the role filter. Both read by the paging
 * convention now (docs/paging.md): filters before the limit, a true total, newest first by a key
 * that does not move.
 */
describe("reads that drop no rows", () => {
  let d: TestDaemon;
  let db: pg.Client;
  const N = 130;

  beforeAll(async () => {
    d = await startTestDaemon();
    db = await namespaceDb(d.namespace);
    // Through the table's one writer, one entry at a time so ids are 1..N in order.
    for (let i = 1; i <= N; i++) {
      await auditLog.record(db, {
        actor: i % 2 === 0 ? "admin" : "operator",
        action: "test.paging",
        targetKind: "test",
        targetId: String(i),
      });
    }
  });
  afterAll(async () => {
    await db?.end();
    await d?.close();
  });

  async function pageAll(query: string, limit: number, duringPaging?: () => Promise<void>) {
    const ids: number[] = [];
    let before: string | null = null;
    let pages = 0;
    let total = -1;
    do {
      const r: ApiResponse = await d.api(
        "GET",
        `/api/audit?${query}&limit=${limit}${before ? `&before=${before}` : ""}`,
      );
      expect(r.status, r.text).toBe(200);
      pages++;
      if (total < 0) total = r.body.total;
      ids.push(...r.body.entries.map((e: { id: string }) => Number(e.id)));
      before = r.body.nextBefore;
      await duringPaging?.();
      expect(pages).toBeLessThan(1_000);
    } while (before !== null);
    return { ids, pages, total };
  }

  it("pages every audit id exactly once, strictly descending, across 9→10 and 99→100 (limit 5 and 7)", async () => {
    let written = 0;
    for (const limit of [5, 7]) {
      // Writes committed while paging land above the first page: they neither shift nor repeat rows.
      const { ids, pages, total } = await pageAll("action=test.paging", limit, async () => {
        if (limit === 7 && written < 10) {
          written++;
          await auditLog.record(db, {
            actor: "x",
            action: "test.paging",
            targetKind: "test",
            targetId: "late",
          });
        }
      });
      const expected = N;
      expect(ids).toHaveLength(expected);
      expect(new Set(ids).size).toBe(expected);
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeLessThan(ids[i - 1] as number);
      expect(ids[0]).toBe(N);
      expect(ids[ids.length - 1]).toBe(1);
      expect(total).toBe(N);
      expect(ids).toEqual(expect.arrayContaining([100, 99, 10, 9]));
      console.log(
        `audit paging: ${ids.length} entries in ${pages} pages of ${limit}, ids ${ids[0]}..${ids[ids.length - 1]} each once, crossing 100→99 and 10→9${limit === 7 ? `, ${written} entries written while paging` : ""}`,
      );
    }
    // The late ones are there for a new listing, and a filtered one counts only its matches.
    const again = await d.api("GET", "/api/audit?action=test.paging&limit=1");
    expect(again.body.total).toBe(N + written);
    const admins = await pageAll("action=test.paging&actor=admin", 7);
    expect(admins.ids).toHaveLength(N / 2);
    expect(admins.total).toBe(N / 2);
    expect(admins.ids.every((id) => id % 2 === 0)).toBe(true);
  });

  it("overseer audit --all pages the whole log; --before continues a page", async () => {
    const env = { OVERSEER_URL: d.url, OVERSEER_TOKEN: TOKENS.operator };
    const all = await runCli(
      ["audit", "--json", "--action", "test.paging", "--actor", "admin", "--all", "--limit", "7"],
      env,
    );
    expect(all.code, all.stderr).toBe(0);
    const ids = all.json.entries.map((e: { id: string }) => Number(e.id));
    expect(ids).toHaveLength(N / 2);
    expect(new Set(ids).size).toBe(N / 2);
    expect(all.json.nextBefore).toBeNull();
    const one = await runCli(
      ["audit", "--json", "--action", "test.paging", "--actor", "admin", "--limit", "3"],
      env,
    );
    expect(one.json.entries).toHaveLength(3);
    const next = await runCli(
      [
        "audit",
        "--json",
        "--action",
        "test.paging",
        "--actor",
        "admin",
        "--limit",
        "3",
        "--before",
        one.json.nextBefore,
      ],
      env,
    );
    expect(next.json.entries.map((e: { id: string }) => Number(e.id))).toEqual(ids.slice(3, 6));
    const text = await runCli(["audit", "--action", "test.paging", "--actor", "admin", "--limit", "5"], env);
    expect(text.stdout).toContain(`5 of ${N / 2}; next page: --before`);
  });

  it("the agent list filters by role before the limit and reports the true total", async () => {
    for (let i = 0; i < 4; i++) await d.registerAgent(`dev-${i}`, ["paging.dev"], { role: "developer" });
    for (let i = 0; i < 6; i++) await d.registerAgent(`rev-${i}`, ["paging.rev"], { role: "reviewer" });
    const r = await d.api("GET", "/api/dashboard/agents/status?role=developer&limit=3", {
      token: TOKENS.viewer,
    });
    expect(r.status, r.text).toBe(200);
    expect(r.body.agents).toHaveLength(3);
    expect(r.body.agents.every((a: { role: string }) => a.role === "developer")).toBe(true);
    expect(r.body.total).toBe(4);
    const all = await d.api("GET", "/api/dashboard/agents/status?role=developer", { token: TOKENS.viewer });
    expect(all.body.agents).toHaveLength(4);
    expect(all.body.total).toBe(4);
    const none = await d.api("GET", "/api/dashboard/agents/status?role=nobody", { token: TOKENS.viewer });
    expect(none.body).toMatchObject({ agents: [], total: 0 });
    const cli = await runCli(["agents", "--json", "--role", "developer", "--limit", "3"], {
      OVERSEER_URL: d.url,
      OVERSEER_TOKEN: TOKENS.viewer,
    });
    expect(cli.json.agents).toHaveLength(3);
    expect(cli.json.total).toBe(4);
    console.log(
      `agents status: role=developer limit=3 → ${r.body.agents.length} listed of total ${r.body.total}`,
    );
  });
});
