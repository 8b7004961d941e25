/**
 * Every Redis key and channel of a namespace. All of them, BullMQ's queues included, carry the hash
 * tag `{ns}`, so on a Redis Cluster a namespace lives in one slot: every Lua script (ours, and
 * BullMQ's, which touch several keys of a queue at once) and every pipeline stays single-slot.
 * The price is that one namespace cannot spread over several shards (docs/redis-cluster.md).
 */
export function redisKeys(namespace: string) {
  const base = `ovs:{${namespace}}`;
  return {
    /** BullMQ key prefix; one queue per task type below it (tagged like the rest: same slot). */
    bullPrefix: `${base}:bull`,
    /** HASH agentId → lifecycle state (mirror of Postgres for the heartbeat hot path). */
    agentStates: `${base}:agents`,
    /** ZSET agentId → last heartbeat (Redis clock, ms). */
    heartbeats: `${base}:hb`,
    /** HASH per agent: status, load, reported tasks, heartbeat gap average. */
    agentInfo: (agentId: string) => `${base}:agent:${agentId}`,
    /** LIST per agent: commands delivered with the next heartbeat response. */
    agentCommands: (agentId: string) => `${base}:cmds:${agentId}`,
    /** ZSET per agent: taskId → lease grant time, to spot leases the agent no longer reports. */
    agentLeases: (agentId: string) => `${base}:leases:${agentId}`,
    /** SET per agent: leases its last heartbeat left out (released if the next one does too). */
    agentSuspects: (agentId: string) => `${base}:suspects:${agentId}`,
    /** LIST per agent: task ids an operator reassigned to it, taken by its next claim first. */
    agentAssigned: (agentId: string) => `${base}:assigned:${agentId}`,
    /** SET of agent ids whose directed list is not empty (so claims of others skip Redis). */
    agentsWithDirected: `${base}:assigned-agents`,
    /** HASH agentId → its current session's id (any replica); absent after a goodbye or a death. */
    agentSessions: `${base}:sessions`,
    /** Pub/sub channel: a task type has claimable work. */
    readyChannel: `${base}:ready`,
    /** STREAM of the namespace's events for the WebSocket feeds; the entry id is the event id. */
    feedStream: `${base}:feed`,
    /** HASH of auto-heal's quarantines (`agent:<name>`) and open circuits (`type:<type>`) → expiry (ms). */
    healGates: `${base}:heal:gates`,
    /** HASH role → the role's last canary result (JSON). */
    canaryResults: `${base}:canary`,
    /** Leader lease and its fencing epoch. */
    leader: `${base}:leader`,
    leaderEpoch: `${base}:leader:epoch`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
