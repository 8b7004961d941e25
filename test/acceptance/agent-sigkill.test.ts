import { describe } from "vitest";
import { agentSigkillScenario } from "./scenarios/agent-sigkill.ts";

// Issue 7, acceptance 1: the agent-death acceptance test with one, two and three daemon replicas.
describe.each([1, 2, 3])("%i replica(s)", (replicas) => agentSigkillScenario(replicas));
