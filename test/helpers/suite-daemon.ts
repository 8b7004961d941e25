import type pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { startTestDaemon, type TestDaemon } from "./daemon-harness.ts";
import { namespaceDb } from "./namespace-cleanup.ts";

/** A test file's daemon and a Postgres client inside its namespace (for assertions on the system of record). */
export interface SuiteDaemon {
  readonly d: TestDaemon;
  readonly db: pg.Client;
}

/**
 * Starts one daemon (with `overrides` on the test environment) and opens a client in its namespace
 * before the file's tests; closes both after them, dropping the namespace. Call at the top of a file.
 */
export function suiteDaemon(overrides: Record<string, string> = {}): SuiteDaemon {
  let daemon: TestDaemon | undefined;
  let client: pg.Client | undefined;
  beforeAll(async () => {
    daemon = await startTestDaemon(overrides);
    client = await namespaceDb(daemon.namespace);
  });
  afterAll(async () => {
    await client?.end();
    await daemon?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("suiteDaemon: used before its beforeAll ran");
    return value;
  };
  return {
    get d() {
      return started(daemon);
    },
    get db() {
      return started(client);
    },
  };
}
