import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DASHBOARD_UIDS } from "../../grafana/src/config.ts";
import { renderDashboards } from "../../grafana/src/index.ts";
import { builtDashboards, dataPanels, TEST_VARIABLES } from "./dashboard-queries.ts";

const DIR = fileURLToPath(new URL("../../grafana/dashboards/", import.meta.url));
const PROVISIONING = fileURLToPath(new URL("../../grafana/provisioning/", import.meta.url));

describe("generated Grafana dashboards", () => {
  it("the committed JSON is exactly what `npm run grafana:generate` writes (no drift, no stray files)", async () => {
    const expected = renderDashboards();
    const committed = (await readdir(DIR)).filter((f) => f.endsWith(".json")).sort();
    expect(committed, "files in grafana/dashboards/").toEqual([...expected.keys()].sort());
    const drifted: string[] = [];
    for (const [name, json] of expected) {
      if ((await readFile(`${DIR}${name}`, "utf8")) !== json) drifted.push(name);
    }
    expect(drifted, "regenerate with `npm run grafana:generate` and commit the result").toEqual([]);
  });

  it("every panel of every committed dashboard says what it shows when its queries return nothing", async () => {
    const missing: string[] = [];
    let panels = 0;
    for (const file of (await readdir(DIR)).filter((f) => f.endsWith(".json"))) {
      const d = JSON.parse(await readFile(`${DIR}${file}`, "utf8"));
      for (const p of dataPanels(d)) {
        panels++;
        const text = (p.fieldConfig?.defaults as { noValue?: string } | undefined)?.noValue;
        if (typeof text !== "string" || text.trim() === "") missing.push(`${file} #${p.id} "${p.title}"`);
      }
    }
    expect(panels).toBeGreaterThan(60);
    expect(missing, "panels without a no-value text (PanelSpec.noValue or noValueOf)").toEqual([]);
  });

  it("has the fixed uids that alert rules link to, with unique uids and titles", () => {
    const dashboards = builtDashboards();
    const uids = dashboards.map((d) => d.uid);
    const titles = dashboards.map((d) => d.title);
    expect(new Set(uids).size).toBe(uids.length);
    expect(new Set(titles).size).toBe(titles.length);
    expect([...uids].sort()).toEqual(Object.values(DASHBOARD_UIDS).sort());
    expect(uids).toEqual(
      expect.arrayContaining([
        "overseer-oncall",
        "overseer-agents",
        "overseer-tasks",
        "overseer-pipelines",
        "overseer-llm",
        "overseer-recovery",
      ]),
    );
  });

  it("every panel has a datasource, a title, at least one target with a PromQL expression, and fits the grid", () => {
    const problems: string[] = [];
    for (const d of builtDashboards()) {
      const ids = new Set<number>();
      for (const p of d.panels ?? []) {
        if (ids.has(p.id ?? -1)) problems.push(`${d.uid}: duplicate panel id ${p.id}`);
        ids.add(p.id ?? -1);
      }
      for (const p of dataPanels(d)) {
        const name = `${d.uid} #${p.id} "${p.title}"`;
        if (!p.title) problems.push(`${name}: no title`);
        if (!p.description) problems.push(`${name}: no description`);
        if (!p.datasource?.uid || !p.datasource.type) problems.push(`${name}: no datasource`);
        const targets = (p.targets ?? []) as Array<{ expr?: string; refId?: string; datasource?: unknown }>;
        if (targets.length === 0) problems.push(`${name}: no target`);
        const refIds = targets.map((t) => t.refId);
        if (new Set(refIds).size !== refIds.length || refIds.some((r) => !r)) {
          problems.push(`${name}: refIds must be set and unique (${refIds.join(",")})`);
        }
        for (const t of targets) {
          if (!t.expr?.trim()) problems.push(`${name} ${t.refId}: empty expression`);
          if (!t.datasource) problems.push(`${name} ${t.refId}: target without a datasource`);
        }
        const g = p.gridPos;
        if (!g || g.x + g.w > 24 || g.w <= 0 || g.h <= 0) problems.push(`${name}: bad gridPos`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("panels use only variables their dashboard defines (or Grafana's built-in ones)", () => {
    const builtIn = new Set(Object.keys(TEST_VARIABLES).filter((k) => k.startsWith("__")));
    const problems: string[] = [];
    for (const d of builtDashboards()) {
      const defined = new Set((d.templating?.list ?? []).map((v) => v.name));
      const texts = [
        ...dataPanels(d).flatMap((p) =>
          [
            p.datasource?.uid ?? "",
            ...((p.targets ?? []) as Array<{ expr?: string }>).map((t) => t.expr ?? ""),
          ].map((text) => ({ where: `#${p.id} "${p.title}"`, text })),
        ),
        ...(d.templating?.list ?? []).map((v) => ({
          where: `variable ${v.name}`,
          text: String(v.query ?? ""),
        })),
      ];
      for (const { where, text } of texts) {
        for (const m of text.matchAll(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)/g)) {
          const name = (m[1] ?? m[2]) as string;
          if (!defined.has(name) && !builtIn.has(name))
            problems.push(`${d.uid} ${where}: $${name} is not defined`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("provisioning names the datasource uids the dashboards use and the folder they are mounted in", async () => {
    const datasources = await readFile(`${PROVISIONING}datasources/datasources.yml`, "utf8");
    expect(datasources).toMatch(
      /type: prometheus\n\s+uid: prometheus\n[\s\S]*?url: http:\/\/prometheus:9090/,
    );
    expect(datasources).toMatch(/type: tempo\n\s+uid: tempo\n[\s\S]*?url: http:\/\/tempo:3200/);
    const providers = await readFile(`${PROVISIONING}dashboards/dashboards.yml`, "utf8");
    expect(providers).toMatch(/type: file/);
    expect(providers).toMatch(/path: \/var\/lib\/grafana\/dashboards\n/);
    for (const d of builtDashboards()) {
      const ds = (d.templating?.list ?? []).find((v) => v.type === "datasource");
      expect(ds?.current?.value, `${d.uid} default datasource`).toBe("prometheus");
    }
  });
});
