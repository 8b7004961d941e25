import type { ConsoleSession } from "../../contract/schemas/console.ts";
import { h } from "./dom.ts";
import type { Page } from "./router.ts";

/** The frame around every page: navigation, who is signed in with which role, and sign-out. */
export function shell(
  session: ConsoleSession,
  pages: readonly Page[],
  current: Page | null,
  signOut: () => void,
): { frame: HTMLElement; main: HTMLElement } {
  const main = h("main", { id: "main", tabindex: "-1" });
  const nav = h(
    "nav",
    { "aria-label": "Console pages" },
    pages
      .filter((p) => p.nav)
      .map((p) =>
        h(
          "a",
          { href: `#${p.pattern}`, "aria-current": current && navOf(current, pages) === p ? "page" : null },
          p.nav ?? "",
        ),
      ),
  );
  const frame = h(
    "div",
    null,
    h(
      "header",
      { class: "top" },
      h("span", { class: "brand" }, "Overseer"),
      nav,
      h(
        "span",
        { class: "who" },
        h("span", { "data-role": session.role }, `Signed in as ${session.actor} (${session.role})`),
        h("button", { type: "button", onclick: signOut }, "Sign out"),
      ),
    ),
    main,
  );
  return { frame, main };
}

/** The navigation entry a page belongs under: itself, or the list its detail page hangs off. */
function navOf(page: Page, pages: readonly Page[]): Page | undefined {
  if (page.nav) return page;
  const head = page.under ?? `/${page.pattern.split("/")[1] ?? ""}`;
  return pages.find((p) => p.nav && p.pattern === head);
}
