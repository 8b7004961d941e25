import type { Redis } from "ioredis";
import { type OverseerScripts, scripted } from "./lua-scripts.ts";
import type { RedisKeys } from "./redis-keys.ts";

/**
 * Which session is each agent's current one, shared by every replica: a reconnect that lands on
 * another replica within the grace is seen by the replica that saw the old session close.
 */
export class SessionStore {
  private readonly redis: Redis & OverseerScripts;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.redis = scripted(redis);
  }

  /** Makes `sessionId` the agent's current session; answers the session it replaced, if any. */
  async open(agentId: string, sessionId: string): Promise<string | null> {
    return this.redis.ovsSessionOpen(this.keys.agentSessions, agentId, sessionId);
  }

  /** Ends `sessionId` if it is still the agent's current session; true when it was. */
  async end(agentId: string, sessionId: string): Promise<boolean> {
    return (await this.redis.ovsSessionEnd(this.keys.agentSessions, agentId, sessionId)) === 1;
  }
}
