import { readdirSync, readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/**
 * The one loader of our Lua scripts (BullMQ's layout): each lives in `lua/<name>-<keys>.lua`, is
 * read once at start, and is defined on a client as the command `ovs<Name>` (ioredis sends
 * EVALSHA and falls back to EVAL, so a Redis that lost its script cache still runs it).
 */
const DIR = new URL("./lua/", import.meta.url);
const FILE = /^([a-z][a-z-]*)-(\d+)\.lua$/;

interface Script {
  command: string;
  numberOfKeys: number;
  lua: string;
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

const SCRIPTS: Script[] = readdirSync(DIR).flatMap((file) => {
  const m = FILE.exec(file);
  if (!m) return [];
  const name = camel(m[1] as string);
  return [
    {
      command: `ovs${name[0]?.toUpperCase()}${name.slice(1)}`,
      numberOfKeys: Number(m[2]),
      lua: readFileSync(new URL(file, DIR), "utf8"),
    },
  ];
});

/** Every script as a command of the client; each takes its keys first, then its arguments. */
export interface OverseerScripts {
  /** heartbeat-6: state check, clock stamp, gap average, commands, forgotten leases. */
  ovsHeartbeat(...keysAndArgs: Array<string | number>): Promise<unknown[]>;
  /** overdue-2: agents silent for longer than ARGV[1] ms, with their state, by the Redis clock. */
  ovsOverdue(...keysAndArgs: Array<string | number>): Promise<unknown[]>;
  /** add-leases-1: notes lease grant times. */
  ovsAddLeases(...keysAndArgs: string[]): Promise<number>;
  /** track-leases-1: adds leases missing from the mirror; answers how many. */
  ovsTrackLeases(...keysAndArgs: string[]): Promise<number>;
  /** leader-acquire-2: the epoch held, or minus the time another replica still holds the lease. */
  ovsLeaderAcquire(
    lease: string,
    epoch: string,
    replicaId: string,
    ttlMs: number,
    floor: number,
  ): Promise<number>;
  /** leader-release-1. */
  ovsLeaderRelease(lease: string, value: string): Promise<number>;
  /** take-directed-2: up to max entries of an agent's directed list. */
  ovsTakeDirected(list: string, withWork: string, max: string, agentId: string): Promise<string[]>;
  /** session-open-1: makes a session the agent's current one; answers the one it replaced, if any. */
  ovsSessionOpen(sessions: string, agentId: string, sessionId: string): Promise<string | null>;
  /** session-end-1: 1 when the session was still the agent's current one (and is no longer). */
  ovsSessionEnd(sessions: string, agentId: string, sessionId: string): Promise<number>;
  /** heal-gate-set-1: sets one gate and prunes expired ones. */
  ovsHealGateSet(gates: string, now: string, field: string, until: string): Promise<number>;
}

const defined = new WeakSet<Redis>();

/** The client with every script defined on it (once per client). */
export function scripted(redis: Redis): Redis & OverseerScripts {
  if (!defined.has(redis)) {
    for (const s of SCRIPTS) redis.defineCommand(s.command, { lua: s.lua, numberOfKeys: s.numberOfKeys });
    defined.add(redis);
  }
  return redis as Redis & OverseerScripts;
}

/** The script names found (a test checks each has its typed command above). */
export const SCRIPT_COMMANDS: readonly string[] = SCRIPTS.map((s) => s.command);
