import { expect, it } from "vitest";
import { demoLogFile, outputMode } from "../../demo/live-view/output-mode.ts";

it("draws the view only on a terminal, unless LOG_FORMAT=json asks for the log lines", () => {
  expect(outputMode(true, {})).toBe("view");
  expect(outputMode(true, { LOG_FORMAT: "pretty" })).toBe("view");
  expect(outputMode(true, { LOG_FORMAT: "json" })).toBe("json");
  // Piped or redirected: JSON lines on stdout, as the daemon writes them.
  expect(outputMode(false, {})).toBe("json");
  expect(outputMode(false, { LOG_FORMAT: "json" })).toBe("json");
});

it("names the log file under .overseer/ by its UTC start time, without colons", () => {
  expect(demoLogFile("/repo", new Date("2026-12-07T06:45:16.123Z"))).toBe(
    "/repo/.overseer/demo-2026-12-07T06-45-16Z.log",
  );
});
