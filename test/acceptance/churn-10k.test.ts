import { describe } from "vitest";
import { churnScenario } from "./scenarios/churn.ts";

// Issue 7, acceptance 1: the no-loss churn acceptance test (20 agent processes, 5 SIGKILLed and
// restarted, every task completed exactly once) with one, two and three daemon replicas.
//
// CI runs 10,000 tasks with one replica and 3,000 with two and three, to keep the added time near
// 50 s. Measured on this shared 2-core machine (other jobs running, so ranges): 10,000 tasks took
// 39-64 s with one replica, 52 s with two and 34-78 s with three (89 s with three as child
// processes); 3,000 took 19 s with two and with three.
// The full size at every count:
//   CHURN_TASKS=10000 npx vitest run test/acceptance/churn-10k.test.ts
// CHURN_MODE=process runs the replicas as child processes instead of in the test process.
const FIXED = process.env.CHURN_TASKS === undefined ? undefined : Number(process.env.CHURN_TASKS);
const tasksFor = (replicas: number): number => FIXED ?? (replicas === 1 ? 10_000 : 3_000);
const MODE = process.env.CHURN_MODE === "process" ? "process" : "in-process";

describe.each([1, 2, 3])("%i replica(s)", (replicas) => churnScenario(replicas, tasksFor(replicas), MODE));
