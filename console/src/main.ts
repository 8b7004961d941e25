import type { ConsoleSession } from "../../contract/schemas/console.ts";
import { api, credentials } from "./api.ts";
import { errorBox, fill, h } from "./dom.ts";
import { PAGES } from "./pages/index.ts";
import { match } from "./router.ts";
import { shell } from "./shell.ts";

/**
 * The console's entry: sign in with a token (kept in this tab's session storage), learn its role
 * from the daemon, then draw the page the URL's hash names, again on every hash change.
 */
const app = document.getElementById("app") as HTMLElement;
let session: ConsoleSession | null = null;
const leave: Array<() => void> = [];

function signOut(): void {
  credentials.clear();
  session = null;
  showLogin();
}

function showLogin(problem?: string): void {
  for (const fn of leave.splice(0)) fn();
  const token = h("input", { type: "password", name: "token", autocomplete: "off", required: true });
  const actor = h("input", { type: "text", name: "actor", autocomplete: "name", placeholder: "e.g. alice" });
  const form = h(
    "form",
    null,
    h("label", null, "Token (viewer, operator or admin)", token),
    h("label", null, "Your name, for the audit log (optional)", actor),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    credentials.save(token.value.trim(), actor.value.trim());
    await start();
  });
  fill(
    app,
    // The sign-in form is the page's main content (the skip link lands on it).
    h(
      "main",
      { class: "login card", id: "main", tabindex: "-1" },
      h("h1", null, "Overseer console"),
      h(
        "p",
        { class: "sub" },
        "Sign in with the token your deployment gave you. It stays in this browser tab only and is sent to this daemon alone.",
      ),
      problem ? h("p", { class: "error", role: "alert" }, problem) : null,
      form,
    ),
  );
  token.focus();
}

async function start(): Promise<void> {
  if (!credentials.token()) return showLogin();
  try {
    session = await api.get<ConsoleSession>("/api/console/session");
  } catch (e) {
    credentials.clear();
    return showLogin(e instanceof Error ? e.message : String(e));
  }
  await route();
}

async function route(): Promise<void> {
  if (!session) return;
  for (const fn of leave.splice(0)) fn();
  const found = match(PAGES, location.hash);
  const { frame, main } = shell(session, PAGES, found?.page ?? null, signOut);
  fill(app, frame);
  if (!found) {
    fill(main, h("h1", null, "No such page"), h("p", null, h("a", { href: "#/fleet" }, "Go to the fleet")));
    return;
  }
  document.title = `${found.page.title} · Overseer`;
  const current = session;
  try {
    await found.page.render({
      params: found.params,
      query: found.query,
      session: current,
      root: main,
      onLeave: (fn) => leave.push(fn),
      reload: () => void route(),
      setQuery: (q) => {
        const params = new URLSearchParams();
        for (const [k, v] of Object.entries(q)) if (v) params.set(k, v);
        const s = params.toString();
        location.hash = `${found.page.pattern.replace(/:(\w+)/g, (_, k: string) => found.params[k] ?? "")}${s ? `?${s}` : ""}`;
      },
    });
  } catch (e) {
    main.append(errorBox(e));
  }
}

window.addEventListener("hashchange", () => void route());
window.addEventListener("overseer:unauthenticated", () => {
  if (session) {
    credentials.clear();
    session = null;
    showLogin("The daemon no longer accepts this token; sign in again.");
  }
});
void start();
