import type { AuditEntry, AuditPage } from "../../contract/schemas/audit.ts";
import type { ConsoleSession } from "../../contract/schemas/console.ts";
import { type Acted, ApiError, api, may, type Role } from "./api.ts";
import { errorBox, fill, h, json, kv } from "./dom.ts";
import { time } from "./format.ts";

/**
 * Every lever in the console goes through one dialog: what it does, a reason, an optional dry run
 * whose impact is shown before anything changes, the confirmation, the result, and the audit entry
 * the action wrote (found by the request id the console sent). A role that may not act is not
 * offered the button; the server refuses it anyway.
 */
export interface ActionSpec {
  label: string;
  need: Role;
  title: string;
  explain: string;
  reason: "required" | "optional" | "none";
  danger?: boolean;
  /** Extra inputs (a priority, an agent id, an expiry), read when the operator confirms. */
  fields?: Array<{
    name: string;
    label: string;
    type?: string;
    value?: string;
    options?: string[];
    required?: boolean;
  }>;
  /** What the confirm button names after a dry run ("Stop all tasks"), from the fields; the label otherwise. */
  confirmLabel?: (values: Record<string, string>) => string;
  /** A dry run: what would change, and nothing changes. Its answer is shown before confirming. */
  dryRun?: (reason: string, values: Record<string, string>) => Promise<Acted<unknown>>;
  run: (
    reason: string,
    values: Record<string, string>,
    dry: Acted<unknown> | null,
  ) => Promise<Acted<unknown>>;
  /** After a success (redraw the page); the dialog stays open on its result until closed. */
  done?: () => void;
}

export function actionButton(session: ConsoleSession, spec: ActionSpec): HTMLElement | null {
  if (!may(session, spec.need)) return null;
  return h(
    "button",
    { type: "button", class: spec.danger ? "danger" : null, onclick: () => openAction(spec) },
    spec.label,
  );
}

export function actionBar(session: ConsoleSession, specs: ActionSpec[]): HTMLElement {
  const buttons = specs.map((s) => actionButton(session, s)).filter((b): b is HTMLElement => b !== null);
  if (buttons.length === 0) {
    const needs = specs.some((s) => s.need === "operator") ? "an operator or admin token" : "an admin token";
    return h("p", { class: "help" }, `Your role (${session.role}) may not act here; ${needs} can.`);
  }
  return h("div", { class: "actions", role: "group", "aria-label": "Actions" }, buttons);
}

export function openAction(spec: ActionSpec): void {
  const reason = h("textarea", {
    name: "reason",
    required: spec.reason === "required",
    placeholder: "Why: the audit log keeps it",
  });
  const inputs = (spec.fields ?? []).map((f) =>
    f.options
      ? h(
          "select",
          { name: f.name },
          f.options.map((o) => h("option", { value: o, selected: o === f.value }, o)),
        )
      : h("input", { name: f.name, type: f.type ?? "text", value: f.value ?? "", required: f.required }),
  );
  const out = h("div", { "aria-live": "polite" });
  const values = () => Object.fromEntries(inputs.map((i) => [i.name, i.value.trim()]));
  let dry: Acted<unknown> | null = null;
  const confirm = h(
    "button",
    { type: "button", class: spec.danger ? "danger" : "primary", disabled: spec.dryRun !== undefined },
    spec.dryRun ? "Confirm (after the dry run)" : spec.label,
  );
  const dryButton = spec.dryRun
    ? h("button", { type: "button", class: "primary" }, "Dry run (changes nothing)")
    : null;
  const close = h("button", { type: "button" }, "Close");
  const dialog = h(
    "dialog",
    { "aria-labelledby": "action-title" },
    h("h2", { id: "action-title" }, spec.title),
    h("p", null, spec.explain),
    (spec.fields ?? []).map((f, i) => h("label", null, f.label, inputs[i])),
    spec.reason === "none"
      ? null
      : h("label", null, spec.reason === "required" ? "Reason (required)" : "Reason", reason),
    h("div", { class: "actions" }, dryButton, confirm, close),
    out,
  );
  const missing = (): string | null => {
    if (spec.reason === "required" && reason.value.trim() === "")
      return "Give a reason: the audit log keeps it.";
    const f = (spec.fields ?? []).find((x, i) => x.required && inputs[i]?.value.trim() === "");
    return f ? `Fill in ${f.label}.` : null;
  };
  dryButton?.addEventListener("click", async () => {
    const problem = missing();
    if (problem) return fill(out, h("p", { class: "error", role: "alert" }, problem));
    fill(out, h("p", null, "Asking for the impact…"));
    try {
      dry = (await spec.dryRun?.(reason.value.trim(), values())) ?? null;
      confirm.disabled = false;
      // Say what is being confirmed: the lever as chosen, not the dialog's title.
      confirm.textContent = `Confirm: ${spec.confirmLabel?.(values()) ?? spec.label}`;
      fill(
        out,
        h("h3", null, "Impact if you confirm (nothing has changed yet)"),
        answer(dry?.data),
        await auditOf(dry?.requestId),
      );
      confirm.focus();
    } catch (e) {
      fill(out, errorBox(e));
    }
  });
  confirm.addEventListener("click", async () => {
    const problem = missing();
    if (problem) return fill(out, h("p", { class: "error", role: "alert" }, problem));
    confirm.disabled = true;
    if (dryButton) dryButton.disabled = true;
    fill(out, h("p", null, "Working…"));
    try {
      const done = await spec.run(reason.value.trim(), values(), dry);
      fill(out, h("h3", null, `Done (${done.status})`), answer(done.data), await auditOf(done.requestId));
      spec.done?.();
    } catch (e) {
      confirm.disabled = spec.dryRun !== undefined && dry === null;
      if (dryButton) dryButton.disabled = false;
      fill(
        out,
        errorBox(e),
        await auditOf(e instanceof ApiError && e.status !== 403 ? e.requestId : undefined),
      );
    }
  });
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  document.body.appendChild(dialog);
  dialog.showModal();
}

/**
 * An answer in words: its fields as labelled values, a `note` as a sentence, nested objects (an
 * impact) the same way one level down; the raw JSON stays one click away. Confirmation tokens are
 * not shown: the dialog keeps the token and sends it back itself.
 */
function answer(data: unknown): HTMLElement {
  if (data === undefined || data === null) return h("p", null, "Done: the API answers with no body.");
  if (typeof data !== "object" || Array.isArray(data)) return json(data);
  return h(
    "div",
    { class: "answer" },
    fields(data as Record<string, unknown>),
    h("details", null, h("summary", null, "Raw answer (JSON)"), json(data)),
  );
}

const HIDDEN = new Set(["note", "confirmationToken", "dryRun"]);

function fields(o: Record<string, unknown>): HTMLElement {
  const entries = Object.entries(o).filter(([k]) => !HIDDEN.has(k));
  return h(
    "div",
    null,
    typeof o.note === "string" ? h("p", null, o.note) : null,
    entries.length ? kv(entries.map(([k, v]) => [words(k), shown(v)])) : null,
  );
}

function words(key: string): string {
  return key.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

function shown(v: unknown): Node | string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}T/.test(v)) return time(v);
  if (typeof v !== "object") return String(v);
  if (Array.isArray(v)) {
    return v.length === 0
      ? "none"
      : v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ");
  }
  return fields(v as Record<string, unknown>);
}

/** The audit entry written under a request id, shown as the action's receipt. */
async function auditOf(requestId: string | undefined): Promise<HTMLElement | null> {
  if (!requestId) return null;
  try {
    const page = await api.get<AuditPage>("/api/audit", { requestId, limit: 5 });
    const entry: AuditEntry | undefined = page.entries[0];
    if (!entry) return h("p", { class: "help" }, "This step wrote no audit entry.");
    return h(
      "section",
      { class: "card audit-receipt", "aria-label": "Audit entry" },
      h("h3", null, `Audit entry #${entry.id}`),
      kv([
        ["When", time(entry.at)],
        ["Who", entry.actor],
        ["Action", entry.action],
        ["Target", `${entry.targetKind} ${entry.targetId}`],
        ["Reason", entry.reason ?? "—"],
        ["Request id", entry.requestId ?? "—"],
      ]),
    );
  } catch (e) {
    return errorBox(e);
  }
}
