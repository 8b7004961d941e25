import type { Redis } from "ioredis";
import type { CanaryResult } from "../../../contract/schemas/system.ts";

/**
 * The last canary result of each role: one Redis hash per namespace (role → CanaryResult as JSON,
 * key `canaryResults` of the registry), so every replica's health read sees what the leader's
 * canary found.
 */
export class CanaryResultsStore {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  /** Replaces the role's last result. */
  async record(result: CanaryResult): Promise<void> {
    await this.redis.hset(this.key, result.role, JSON.stringify(result));
  }

  /** Every role's last result, by role (empty when none ran yet). */
  async all(): Promise<CanaryResult[]> {
    const raw = await this.redis.hgetall(this.key);
    return Object.values(raw)
      .map((v) => JSON.parse(v) as CanaryResult)
      .sort((a, b) => a.role.localeCompare(b.role));
  }
}
