import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { Redis } from "ioredis";
import { pgClient, REDIS_URL } from "./support/services.ts";

export interface Machine {
  nproc: number;
  memoryGiB: number;
  cpuModel: string;
  os: string;
  node: string;
  redis: string;
  postgres: string;
  bullmq: string;
  commit: string | null;
  date: string;
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function nproc(): number {
  try {
    return Number(execFileSync("nproc", { encoding: "utf8" }).trim());
  } catch {
    return os.availableParallelism();
  }
}

/** The machine and the versions of everything measured, for the results header. */
export async function describeMachine(): Promise<Machine> {
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(read("/proc/meminfo"))?.[1] ?? os.totalmem() / 1024);
  const cpuModel =
    /^model name\s*:\s*(.+)$/m.exec(read("/proc/cpuinfo"))?.[1]?.trim() ?? os.cpus()[0]?.model ?? "?";
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let redisVersion = "?";
  try {
    redisVersion = /^redis_version:(\S+)/m.exec(await redis.info("server"))?.[1] ?? "?";
  } finally {
    redis.disconnect();
  }
  const pg = await pgClient();
  let postgres = "?";
  try {
    postgres =
      (await pg.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? "?";
  } finally {
    await pg.end();
  }
  const bullmq = (JSON.parse(
    read(new URL("../node_modules/bullmq/package.json", import.meta.url).pathname) || "{}",
  ).version ?? "?") as string;
  let commit: string | null = null;
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    commit = null;
  }
  return {
    nproc: nproc(),
    memoryGiB: Math.round((memKb / 1024 / 1024) * 10) / 10,
    cpuModel,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    redis: redisVersion,
    postgres: postgres.split(" ")[0] ?? postgres,
    bullmq,
    commit,
    date: new Date().toISOString(),
  };
}
