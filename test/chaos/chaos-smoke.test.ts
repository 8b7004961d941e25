import { rmSync } from "node:fs";
import { afterAll, expect, it } from "vitest";
import { chaosConfig, FAULT_KINDS } from "../../bench/chaos/config.ts";
import { type ChaosOutcome, runChaos } from "../../bench/chaos/orchestrator.ts";
import { killAllChildren } from "../../bench/support/children.ts";
import { runEmergencyCleanups } from "../../bench/support/emergency.ts";

// The chaos suite, compressed for CI: the same orchestrator and checker as `npm run chaos`, every
// fault kind once in 75 s of load. Differences from the full run: Postgres is down 10 s instead of
// 30 s, a killed replica stays down 5 s instead of 8 s, and the evidence window is 10 s. Its own
// Redis and Postgres (bench/chaos/services.ts), never the shared ones.
let outcome: ChaosOutcome | undefined;

afterAll(async () => {
  killAllChildren();
  await runEmergencyCleanups();
  if (outcome?.verdict.ok) rmSync(outcome.dir, { recursive: true, force: true });
});

it("survives every fault kind with nothing lost, nothing completed twice, one leader per epoch, every fault in the metrics", async () => {
  const config = chaosConfig({
    CHAOS_MINUTES: "1.25",
    CHAOS_ROUNDS: "1",
    CHAOS_PG_OUTAGE_MS: "10000",
    CHAOS_REPLICA_DOWN_MS: "5000",
    CHAOS_EVIDENCE_MS: "10000",
    CHAOS_DRAIN_MS: "45000",
  });
  const lines: string[] = [];
  outcome = await runChaos(config, (line) => lines.push(line));
  // On failure the whole printed report (timeline, violations) is the message.
  const report = `${lines.join("\n")}\n\n${outcome.text}`;
  expect(
    outcome.records.faults.map((f) => f.kind),
    report,
  ).toEqual([...FAULT_KINDS]);
  expect(outcome.records.accepted.length, report).toBeGreaterThan(0);
  expect(
    outcome.verdict.checks.filter((c) => !c.ok).map((c) => c.name),
    report,
  ).toEqual([]);
  expect(outcome.verdict.ok, report).toBe(true);
}, 240_000);
