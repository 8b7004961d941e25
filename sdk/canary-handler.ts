import type { TaskHandler } from "./task-run.ts";

/** The task type of the daemon's canary for a role (probes/canary-decision.ts uses the same name). */
export function canaryTaskType(role: string): string {
  return `overseer.canary.${role}`;
}

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
  return {
    handlers: handlers[type] ? handlers : { ...handlers, [type]: answerCanary },
    capabilities: caps.includes(type) ? caps : [...caps, type],
  };
}
