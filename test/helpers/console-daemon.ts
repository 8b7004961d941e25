import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { buildConsole } from "../../tools/build-console.ts";
import { launchChromium } from "./browser.ts";
import { type SuiteDaemon, suiteDaemon } from "./suite-daemon.ts";

/** Grafana's address in the console tests: links are checked, never followed (no Grafana server here). */
export const TEST_GRAFANA_URL = "https://grafana.example.com";

/**
 * A test file's daemon serving a console built for it, and a Chromium: the console is built into a
 * directory of its own before the daemon's first /ui request, and both go away after the file.
 */
export function consoleSuite(
  overrides: Record<string, string> = {},
): SuiteDaemon & { readonly browser: Browser } {
  const dir = mkdtempSync(join(tmpdir(), "overseer-console-"));
  let browser: Browser | undefined;
  beforeAll(async () => {
    await buildConsole(dir);
    browser = await launchChromium();
  });
  const suite = suiteDaemon({
    OVERSEER_CONSOLE_DIR: dir,
    OVERSEER_GRAFANA_URL: TEST_GRAFANA_URL,
    ...overrides,
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get d() {
      return suite.d;
    },
    get db() {
      return suite.db;
    },
    get browser() {
      if (!browser) throw new Error("consoleSuite: used before its beforeAll ran");
      return browser;
    },
  };
}
