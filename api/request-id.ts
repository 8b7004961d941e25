import { randomUUID } from "node:crypto";

/**
 * The id a request is known by, in the audit log among other places: the caller's `X-Request-Id`
 * when it sends a sane one (so a client, the console among them, can find the audit entry its
 * action wrote), otherwise a fresh UUID, unique across replicas and restarts.
 */
export function requestIdOf(sent: string | string[] | undefined): string {
  return typeof sent === "string" && /^[\w.:-]{1,128}$/.test(sent) ? sent : randomUUID();
}
