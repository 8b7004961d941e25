import { describe, expect, it } from "vitest";
import { normalizeFailure, TaskError, toTaskFailure } from "../../sdk/task-error.ts";

describe("task failures", () => {
  it("maps TaskError and plain errors to /fail bodies", () => {
    expect(toTaskFailure(new TaskError("nope", { category: "quota", retryable: false }))).toEqual({
      message: "nope",
      category: "quota",
      retryable: false,
    });
    expect(toTaskFailure(new Error("boom"))).toEqual({
      message: "boom",
      category: "unknown",
      retryable: true,
    });
    expect(toTaskFailure("just a string")).toMatchObject({ message: "just a string", retryable: true });
    expect(toTaskFailure(new Error(""))).toMatchObject({ message: "handler failed" });
  });

  it("fits failures into the daemon's limits", () => {
    expect(normalizeFailure({ message: "x", category: "Bad-Input!" }).category).toBe("bad_input_");
    expect(normalizeFailure({ message: "x", category: "42" }).category).toBe("unknown");
    expect(normalizeFailure({ message: "x", category: "a".repeat(60) }).category).toHaveLength(40);
    expect(normalizeFailure({ message: "m".repeat(20_000) }).message).toHaveLength(10_000);
    expect(normalizeFailure({ message: "", retryable: false })).toEqual({
      message: "task failed",
      category: "unknown",
      retryable: false,
    });
  });
});
