/** Minimal pino-compatible logger surface, so callers can pass a pino instance or a test stub. */
export interface EmbeddedLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}
