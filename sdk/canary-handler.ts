import { canaryTaskType } from "../contract/schemas/system.ts";
import type { TaskHandler } from "./task-run.ts";

/** Answers a canary at once: the probe measures the dispatch path, not any work. */
const answerCanary: TaskHandler = (ctx) => {
  const nonce = (ctx.payload as { nonce?: unknown } | null)?.nonce;
  return { canary: true, nonce: typeof nonce === "string" ? nonce : null };
};

/**
 * The handlers and capabilities an agent registers with, plus the built-in canary answer for its
 * role unless disabled or the author handles that type already.
 */
export function withCanary(
  role: string,
  handlers: Record<string, TaskHandler>,
  capabilities: string[] | undefined,
  enabled: boolean,
): { handlers: Record<string, TaskHandler>; capabilities: string[] } {
  const caps = capabilities ?? Object.keys(handlers);
  if (!enabled) return { handlers, capabilities: caps };
  const type = canaryTaskType(role);
  // Never at the cost of registering: a role too long for a task type (over 48 characters), or an
  // agent already at the daemon's 64 capabilities, goes without the canary (the probe skips it).
  const fits = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(type) && (caps.includes(type) || caps.length < 64);
  if (!fits) return { handlers, capabilities: caps };
  return {
    handlers: handlers[type] ? handlers : { ...handlers, [type]: answerCanary },
    capabilities: caps.includes(type) ? caps : [...caps, type],
  };
}
