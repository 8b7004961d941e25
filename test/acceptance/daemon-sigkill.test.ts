import { describe } from "vitest";
import { daemonSigkillScenario } from "./scenarios/daemon-sigkill.ts";

// Issue 7, acceptance 1: the no-loss-on-daemon-SIGKILL acceptance test with one, two and three
// daemon replicas (with several, the leader is the one killed).
describe.each([1, 2, 3])("%i replica(s)", (replicas) => daemonSigkillScenario(replicas));
