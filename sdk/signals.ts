import type { Logger } from "./runtime.ts";

/** What signal handling needs from an agent. */
export interface Stoppable {
  stop(opts?: { graceMs?: number }): Promise<void>;
  readonly state: string;
}

/**
 * On the first signal: stop() and, when `exit`, exit (1 if the agent ended FAILED, else 0).
 * A second signal cuts the grace period to zero. Returns a function removing the handlers.
 */
export function installSignalHandlers(
  agent: Stoppable,
  logger: Logger,
  opts: { exit?: boolean; signals?: NodeJS.Signals[] } = {},
): () => void {
  const exit = opts.exit ?? true;
  const signals = opts.signals ?? ["SIGTERM", "SIGINT"];
  let received = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    received++;
    logger.info(
      { signal },
      received === 1 ? "signal received; stopping" : "signal received again; stopping now",
    );
    if (received > 1) {
      void agent.stop({ graceMs: 0 });
      return;
    }
    void agent.stop().then(() => {
      if (exit) process.exit(agent.state === "FAILED" ? 1 : 0);
    });
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
