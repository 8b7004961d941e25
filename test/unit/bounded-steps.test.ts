import { expect, it } from "vitest";
import { runBoundedSteps } from "../../daemon/lifecycle/bounded-steps.ts";

it("runs steps in order and names the ones that overran, without waiting for them", async () => {
  const order: string[] = [];
  const started = Date.now();
  const { overran } = await runBoundedSteps(
    [
      ["first", async () => order.push("first")],
      ["hangs", () => new Promise(() => order.push("hangs"))],
      ["fails", async () => Promise.reject(new Error("boom"))],
      ["last", async () => order.push("last")],
    ],
    300,
  );
  expect(order).toEqual(["first", "hangs", "last"]);
  expect(overran).toEqual(["hangs"]);
  // The hung step used the budget; the rest still ran, each with a short minimum slot.
  expect(Date.now() - started).toBeLessThan(2_000);
});
