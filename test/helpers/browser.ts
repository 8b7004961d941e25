import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";

/**
 * A real Chromium for the console's tests: Debian's `chromium` (never a downloaded browser), headless,
 * driven by playwright-core. OVERSEER_CHROMIUM names another executable.
 */
export function chromiumPath(): string {
  const candidates = [process.env.OVERSEER_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  const found = candidates.find((p): p is string => Boolean(p) && existsSync(p as string));
  if (!found) throw new Error("no Chromium: apt-get install chromium, or set OVERSEER_CHROMIUM");
  return found;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
}

/** Where the tests leave their screenshots (test-artifacts/console, not in git). */
export function artifactDir(): string {
  const dir =
    process.env.OVERSEER_TEST_ARTIFACTS ??
    fileURLToPath(new URL("../../test-artifacts/console/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(artifactDir(), `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Opens the console and signs in with a token (and a name for the audit log). */
export async function signIn(page: Page, url: string, token: string, actor = ""): Promise<void> {
  await page.goto(`${url}/ui/`);
  await page.getByLabel(/^Token/).fill(token);
  if (actor) await page.getByLabel(/Your name/).fill(actor);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("header.top").waitFor();
}

/** Collects the page's uncaught errors and console errors, which every test asserts are none. */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/**
 * What the callbacks below touch in the page, declared here because the tests compile without the
 * DOM library. The callbacks are functions, not strings: the console's policy forbids eval, which
 * a string would need, and the tests run under that policy.
 */
declare const document: {
  body: { dataset: Record<string, string | undefined> };
  querySelector(
    selector: string,
  ): { textContent: string | null; getAttribute(name: string): string | null } | null;
  activeElement: { closest(selector: string): unknown } | null;
};

/** Whether the keyboard focus is inside an element matching `selector` (a dialog, say). */
export async function focusIsIn(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((s) => Boolean(document.activeElement?.closest(s)), selector);
}

/** Waits until the page's body carries `data-<key>` (the console's own marks), equal to `value` if given. */
export async function waitForMark(
  page: Page,
  key: string,
  value?: string,
  timeout = 30_000,
): Promise<string> {
  const handle = await page.waitForFunction(
    ([k, v]) => {
      const got = document.body.dataset[k as string];
      return got !== undefined && (v === null || got === v) ? got : null;
    },
    [key, value ?? null] as const,
    { timeout },
  );
  return String(await handle.jsonValue());
}

/** Waits until the page's `main` no longer says it is loading. */
export async function waitForLoaded(page: Page): Promise<void> {
  await page.waitForFunction(() => !document.querySelector("main")?.textContent?.includes("Loading…"));
}

/** Waits until the fleet page's live feed is connected. */
export async function waitForFeedLive(page: Page, timeout = 10_000): Promise<void> {
  await page.waitForFunction(
    () => document.querySelector(".live")?.getAttribute("data-feed") === "live",
    null,
    {
      timeout,
    },
  );
}
