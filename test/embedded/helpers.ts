import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LogLine {
  level: "info" | "warn";
  obj: object;
  msg?: string;
}

/** Logger stub that records lines so tests can assert on what the operator would see. */
export function recordingLogger() {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (obj: object, msg?: string) => lines.push({ level: "info", obj, msg }),
    warn: (obj: object, msg?: string) => lines.push({ level: "warn", obj, msg }),
  };
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `overseer-${prefix}-`));
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** True when nothing is listening on the port any more (we can bind it ourselves). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
