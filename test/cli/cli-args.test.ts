import { describe, expect, it } from "vitest";
import { parseArgs, parseDuration, parseSince } from "../../sdk/cli/args.ts";
import { EXIT, exitForStatus } from "../../sdk/cli/exit-codes.ts";
import { progressBar, table } from "../../sdk/cli/render.ts";

describe("CLI arguments and rendering", () => {
  it("parses positionals, valued and boolean flags", () => {
    expect(
      parseArgs(["override", "stop_all_tasks", "--reason", "x y", "--yes", "--expires=10m", "--json"]),
    ).toEqual({
      positionals: ["override", "stop_all_tasks"],
      flags: { reason: "x y", yes: true, expires: "10m", json: true },
    });
    expect(() => parseArgs(["heal", "--strategy"])).toThrow("--strategy needs a value");
  });
  it("durations and --since", () => {
    expect(parseDuration("10m", "expires")).toBe(600_000);
    expect(parseDuration("1500", "expires")).toBe(1_500);
    expect(() => parseDuration("soon", "expires")).toThrow("--expires");
    expect(parseSince("1h", Date.parse("2026-01-01T12:00:00Z"))).toBe("2026-01-01T11:00:00.000Z");
    expect(parseSince("2026-01-01T00:00:00Z", 0)).toBe("2026-01-01T00:00:00.000Z");
  });
  it("maps HTTP statuses to documented exit codes", () => {
    expect([400, 401, 403, 404, 409, 503, 500].map(exitForStatus)).toEqual([
      EXIT.usage,
      EXIT.auth,
      EXIT.auth,
      EXIT.notFound,
      EXIT.refused,
      EXIT.refused,
      EXIT.error,
    ]);
  });
  it("renders tables and progress bars", () => {
    expect(table([{ a: 1, b: null }], ["a", "b"])).toBe("A  B\n1  -");
    expect(table([], ["a"])).toBe("(none)");
    expect(progressBar(50, 10)).toBe("[#####.....]  50%");
    expect(progressBar(140, 4)).toBe("[####] 100%");
  });
});
