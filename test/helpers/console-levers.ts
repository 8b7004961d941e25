import type { Page } from "playwright-core";
import { screenshot, waitForLoaded } from "./browser.ts";

/**
 * Working the console's levers from a test, as an operator would: open a page by its hash, press a
 * button, fill the dialog, confirm (after the dry run where asked), and read back the audit entry the
 * dialog shows as the action's receipt.
 */

export async function open(page: Page, hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  await page.locator("main h1").first().waitFor();
  // A page that reads before drawing shows "Loading…" meanwhile; wait for its answer.
  await waitForLoaded(page);
}

export interface Receipt {
  action: string;
  target: string;
  reason: string;
  actor: string;
}

/**
 * Presses `button` on the page, fills the dialog's fields (by label) and reason, runs the dry run
 * when asked, confirms, and returns the audit entry the dialog shows as the action's receipt.
 */
export async function act(
  page: Page,
  button: string,
  opts: {
    reason?: string;
    fields?: Record<string, string>;
    dryRun?: boolean;
    shot?: string;
    unaudited?: boolean;
  } = {},
): Promise<Receipt | null> {
  await page.locator("main").getByRole("button", { name: button, exact: true }).first().click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  for (const [label, value] of Object.entries(opts.fields ?? {})) {
    const field = dialog.getByLabel(label, { exact: false });
    if ((await field.evaluate((e) => e.tagName)) === "SELECT") await field.selectOption({ label: value });
    else await field.fill(value);
  }
  if (opts.reason !== undefined) await dialog.getByLabel(/^Reason/).fill(opts.reason);
  if (opts.dryRun) {
    await dialog.getByRole("button", { name: "Dry run (changes nothing)" }).click();
    await dialog.getByText("Impact if you confirm").waitFor();
    if (opts.shot) await screenshot(page, opts.shot);
    await dialog.getByRole("button", { name: /^Confirm: / }).click();
  } else {
    await dialog.getByRole("button", { name: button, exact: true }).click();
  }
  if (opts.unaudited) {
    // An action with nothing to do writes no entry, and the dialog says so rather than inventing one.
    await dialog.getByText("This step wrote no audit entry.").last().waitFor();
    await dialog.getByRole("button", { name: "Close" }).click();
    return null;
  }
  const receipt = dialog.locator("section.audit-receipt").last();
  await receipt.waitFor({ timeout: 15_000 }).catch(async () => {
    throw new Error(`no audit receipt for ${button}: ${await dialog.textContent()}`);
  });
  // The receipt is a list of terms and values (When, Who, Action, Target, Reason, Request id).
  const terms = await receipt.locator("dt").allTextContents();
  const values = await receipt.locator("dd").allTextContents();
  const field = (name: string) => values[terms.indexOf(name)]?.trim() ?? "";
  const out = {
    action: field("Action"),
    target: field("Target"),
    reason: field("Reason"),
    actor: field("Who"),
  };
  await dialog.getByRole("button", { name: "Close" }).click();
  return out;
}

/** `act` for an action that must write an audit entry. */
export async function acted(
  page: Page,
  button: string,
  opts: Parameters<typeof act>[2] = {},
): Promise<Receipt> {
  const receipt = await act(page, button, opts);
  if (!receipt) throw new Error(`${button}: no receipt`);
  return receipt;
}
