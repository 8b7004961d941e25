import { describe } from "vitest";
import { pipelineKillsScenario } from "./scenarios/pipeline-kills.ts";

// Issue 7, acceptance 1: the pipelines' kill acceptance tests with one, two and three daemon
// replicas (with several, the daemon SIGKILLed mid-run is the leader).
describe.each([1, 2, 3])("%i replica(s)", (replicas) => pipelineKillsScenario(replicas));
