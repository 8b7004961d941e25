import { readFileSync } from "node:fs";

/** Resident set size of a process in MiB (VmRSS of /proc/<pid>/status), or null when it is gone. */
export function rssMiB(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? null : Math.round((Number(kb) / 1024) * 10) / 10;
  } catch {
    return null;
  }
}

/**
 * RSS sampled `count` times `everyMs` apart; the largest reading (RSS moves with GC, and the peak is
 * what a memory limit has to hold).
 */
export async function peakRssMiB(pid: number, count: number, everyMs: number): Promise<number | null> {
  let peak: number | null = null;
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, everyMs));
    const v = rssMiB(pid);
    if (v !== null) peak = Math.max(peak ?? 0, v);
  }
  return peak;
}
