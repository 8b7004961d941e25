import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { focusIsIn, signIn, waitForMark } from "../helpers/browser.ts";
import { consoleSuite } from "../helpers/console-daemon.ts";
import { open } from "../helpers/console-levers.ts";
import { TOKENS } from "../helpers/test-env.ts";

/**
 * Every page checked with axe-core (WCAG rules: landmarks, names, labels, contrast, ...) and a lever
 * worked from the keyboard alone. axe is injected as a script, which the console's policy forbids,
 * so this context bypasses the policy; the other console tests run under it.
 */
const suite = consoleSuite();
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
let page: Page;
let taskId = "";
let runId = "";

/** What axe runs in the page, declared here: the tests compile without the DOM library. */
declare const axe: {
  run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }>;
};

beforeAll(async () => {
  const d = suite.d;
  taskId = (await d.api("POST", "/api/tasks", { body: { type: "console.access", payload: { n: 1 } } })).body
    .id;
  runId = (await d.api("POST", "/api/pipelines/story/runs", { body: { input: { story: "access" } } })).body
    .id;
  const context = await suite.browser.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true });
  page = await context.newPage();
});
afterAll(async () => {
  await page?.context().close();
});

async function violations(): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const found = await page.evaluate(async () => (await axe.run()).violations);
  return found.map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

it("has no axe violations on the sign-in page or any page of the console", async () => {
  await page.goto(`${suite.d.url}/ui/`);
  await page.getByLabel(/^Token/).waitFor();
  expect(await violations(), "sign-in").toEqual([]);
  await signIn(page, suite.d.url, TOKENS.admin, "a11y");
  await waitForMark(page, "fleetLoadedAt");
  const hashes = [
    "/fleet",
    "/tasks",
    `/tasks/${taskId}`,
    "/runs",
    `/runs/${runId}`,
    "/costs",
    "/coordination",
  ];
  for (const hash of [...hashes, "/schedules", "/audit", "/overrides"]) {
    await open(page, hash);
    expect(await violations(), hash).toEqual([]);
  }
});

it("works a lever from the keyboard: focus, Enter opens the dialog inside it, Escape closes it", async () => {
  await open(page, `/tasks/${taskId}`);
  await page.locator("main").getByRole("button", { name: "Change priority", exact: true }).focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  expect(await focusIsIn(page, "dialog")).toBe(true);
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  // Nothing was sent: the task keeps its priority.
  expect((await suite.d.api("GET", `/api/tasks/${taskId}`)).body.priority).toBe(0);
});
