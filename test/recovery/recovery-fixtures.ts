import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { OverseerDaemon } from "../../app/overseer-daemon.ts";
import type { OverseerEvent } from "../../daemon/events/catalogue.ts";

export const RUN_AGENT = fileURLToPath(new URL("../../sdk/run-agent.ts", import.meta.url));

/** Writes a managed-agents file to a fresh temporary directory; returns its path. */
export function managedFile(agents: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), "ovs-managed-"));
  const file = join(dir, "agents.json");
  writeFileSync(file, JSON.stringify({ agents }));
  return file;
}

/** An entry whose process exits 1 at once: the crash loop. */
export function crashingEntry(name: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    command: process.execPath,
    args: ["-e", "process.exit(1)"],
    backoff: { initialMs: 50, maxMs: 400, factor: 2 },
    intensity: { maxRestarts: 3, periodMs: 60_000 },
    ...over,
  };
}

/** Records the daemon's events of the given types, in order. */
export function recordEvents(daemon: OverseerDaemon, prefix: string[]): OverseerEvent[] {
  const seen: OverseerEvent[] = [];
  daemon.bus.subscribe((e) => {
    if (prefix.some((p) => e.type.startsWith(p))) seen.push(e);
  });
  return seen;
}

/** The value of one series in Prometheus text, or 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return 0;
}
