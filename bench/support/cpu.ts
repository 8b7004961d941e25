import { readdirSync, readFileSync } from "node:fs";
import { round } from "./services.ts";

// Linux clock ticks per second (USER_HZ); 100 on every mainstream distribution.
const TICKS_PER_SECOND = 100;

/** CPU time (user + sys, plus reaped children) of one process in ms, or 0 when it is gone. */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    return (ticks * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Pids whose command name is exactly `comm` (e.g. "postgres", "redis-server"). */
function pidsNamed(comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === comm) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Machine-wide busy and total CPU time in ms (all cores), from /proc/stat. */
function machineCpuMs(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: ((total - idle) * 1000) / TICKS_PER_SECOND, total: (total * 1000) / TICKS_PER_SECOND };
}

export interface CpuSnapshot {
  at: number;
  groups: Record<string, number>;
  machine: { busy: number; total: number };
}

/**
 * CPU time per group of processes: the given pids plus, for "redis" and "postgres", every process of
 * that name on the host (the postmaster's reaped-children time covers backends that exited).
 */
export function cpuSnapshot(pids: Record<string, number[]>): CpuSnapshot {
  const groups: Record<string, number> = {};
  const all = { ...pids, redis: pidsNamed("redis-server"), postgres: pidsNamed("postgres") };
  for (const [name, list] of Object.entries(all)) {
    groups[name] = list.reduce((sum, pid) => sum + processCpuMs(pid), 0);
  }
  return { at: performance.now(), groups, machine: machineCpuMs() };
}

/**
 * CPU used between two snapshots: per group in ms per `units` of work, and how busy the machine
 * was (1.0 = every core busy all the time).
 */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot, units: number, perUnitsLabel = 1000) {
  const perGroup: Record<string, number> = {};
  for (const [name, ms] of Object.entries(after.groups)) {
    const used = ms - (before.groups[name] ?? 0);
    perGroup[name] = Math.round(((used * perUnitsLabel) / units) * 10) / 10;
  }
  const busy = after.machine.busy - before.machine.busy;
  const total = after.machine.total - before.machine.total;
  return {
    /** CPU ms per `perUnitsLabel` units (default: per 1,000 tasks or jobs), by process group. */
    cpuMsPer1k: perGroup,
    machineBusy: total > 0 ? Math.round((busy / total) * 100) / 100 : 0,
  };
}

/**
 * CPU over a window between two snapshots: cores a group used on average (1 = one core busy the
 * whole window), its CPU ms, how busy the machine was, and the cores busy outside the groups.
 */
export function cpuWindow(before: CpuSnapshot, after: CpuSnapshot) {
  const elapsedMs = after.at - before.at;
  const usedMs = (group: string) => (after.groups[group] ?? 0) - (before.groups[group] ?? 0);
  const busy = after.machine.busy - before.machine.busy;
  const total = after.machine.total - before.machine.total;
  return {
    usedMs,
    cores: (group: string) => round(usedMs(group) / elapsedMs, 2),
    machineBusy: total > 0 ? round(busy / total, 2) : 0,
    /** Cores busy outside every group of the snapshots (other work on a shared machine). */
    otherCores: round(
      Math.max(0, (busy - Object.keys(after.groups).reduce((sum, g) => sum + usedMs(g), 0)) / elapsedMs),
      2,
    ),
  };
}
