import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { PROMETHEUS_DIR, promFiles } from "./rule-files.ts";

/**
 * The shipped Prometheus and Alertmanager files pass the tools' own checks: configs load, rules
 * parse, the promtool unit tests (prometheus/tests/*.yml) pass. `.ci/run` installs the tools.
 */
function run(tool: string, args: string[]): { code: number | null; output: string } {
  const r = spawnSync(tool, args, { cwd: PROMETHEUS_DIR, encoding: "utf8", timeout: 50_000 });
  if (r.error) throw new Error(`${tool} could not run (${r.error.message}); .ci/run installs it`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

function expectClean(tool: string, args: string[]): string {
  const { code, output } = run(tool, args);
  expect(output, `${tool} ${args.join(" ")}`).not.toMatch(/FAILED|error/i);
  expect(code, `${tool} ${args.join(" ")}\n${output}`).toBe(0);
  return output;
}

describe("prometheus/ passes promtool and amtool", () => {
  it("promtool check config: the host and the docker-compose variants", () => {
    for (const config of ["prometheus.yml", "prometheus.compose.yml"]) {
      const out = expectClean("promtool", ["check", "config", config]);
      // The rule files are found through the config's glob and checked with it.
      expect(out).toMatch(/SUCCESS: \d+ rules found/);
    }
  });

  it("promtool check rules: every alert file", () => {
    const files = promFiles("alerts", ".yml");
    expect(files.length).toBeGreaterThan(0);
    const out = expectClean("promtool", ["check", "rules", ...files]);
    expect(out.match(/SUCCESS/g)?.length).toBe(files.length);
  });

  it("promtool test rules: every unit test file", () => {
    const files = promFiles("tests", ".yml");
    expect(files.length).toBeGreaterThan(0);
    const out = expectClean("promtool", ["test", "rules", ...files]);
    expect(out.match(/SUCCESS/g)?.length).toBe(files.length);
  });

  it("amtool check-config: alertmanager.yml", () => {
    const out = expectClean("amtool", ["check-config", "alertmanager.yml"]);
    expect(out).toContain("SUCCESS");
  });
});
