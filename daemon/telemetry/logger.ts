import pino, { type Logger } from "pino";

/** The daemon's logger: JSON lines, minimal serializers (never request bodies or tokens). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "overseer" },
      redact: {
        paths: ["req.headers.authorization", "token", "*.token", "agentSecret"],
        censor: "[redacted]",
      },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}
