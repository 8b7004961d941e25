// Logger and clock seams: the SDK never logs to the console and never reads the real clock directly,
// so hosts can plug pino in and tests can drive time.

/** One log method; pino's methods are assignable to it. */
export type LogFn = (objOrMsg: object | string, msg?: string) => void;

/** Minimal pino-compatible logger. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const noop: LogFn = () => {};

/** Logger that drops everything; the default. */
export const noopLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Returns a logger that adds `bindings` to every entry, like pino's `child()`. */
export function withBindings(logger: Logger, bindings: Record<string, unknown>): Logger {
  const wrap =
    (fn: LogFn): LogFn =>
    (objOrMsg, msg) => {
      if (typeof objOrMsg === "string") fn.call(logger, bindings, objOrMsg);
      else fn.call(logger, { ...bindings, ...objOrMsg }, msg);
    };
  return {
    debug: wrap(logger.debug),
    info: wrap(logger.info),
    warn: wrap(logger.warn),
    error: wrap(logger.error),
  };
}

/** Opaque handle returned by `Clock.setTimeout`. */
export type TimerHandle = unknown;

/** Time source and one-shot timers. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Waits `ms`; resolves true when the time passed, false as soon as `signal` aborts. Never rejects. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      resolve(false);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Renders an unknown thrown value as a message. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
