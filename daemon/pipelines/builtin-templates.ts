import type { TemplateDefinition } from "./template-types.ts";

/**
 * The two templates that ship with Overseer. Agent steps name a capability; any agent that
 * registers it can take the step (the demo fleet registers all of them).
 */
export const MISSION_TEMPLATE: TemplateDefinition = {
  name: "mission",
  description:
    "Verify a request, classify its intent, check the budget, select a tool, run it, finalize an artifact.",
  parameters: {
    request: { type: "string", required: true, description: "What the mission should achieve." },
    budgetUsd: {
      type: "number",
      minimum: 0,
      description: "Spend limit for the run in USD; the budget step fails the run above it.",
    },
  },
  steps: [
    {
      id: "verification",
      name: "Verification",
      executor: { kind: "builtin", name: "verify-input" },
      band: [0, 5],
    },
    {
      id: "intent",
      name: "Intent classification",
      executor: { kind: "agent", capability: "mission.classify" },
      dependsOn: ["verification"],
      band: [5, 30],
    },
    {
      id: "budget",
      name: "Budget check",
      executor: { kind: "builtin", name: "budget-check" },
      dependsOn: ["intent"],
      band: [30, 40],
    },
    {
      id: "tool_selection",
      name: "Tool selection",
      executor: { kind: "agent", capability: "mission.select-tool" },
      dependsOn: ["budget"],
      band: [40, 55],
    },
    {
      id: "tool_execution",
      name: "Tool execution",
      executor: { kind: "agent", capability: "mission.run-tool" },
      dependsOn: ["tool_selection"],
      band: [55, 80],
    },
    {
      id: "finalize",
      name: "Finalize",
      executor: { kind: "builtin", name: "finalize" },
      dependsOn: ["tool_execution"],
      band: [80, 100],
    },
  ],
};

export const STORY_TEMPLATE: TemplateDefinition = {
  name: "story",
  description:
    "A user story from requirements to reviewed implementation: pm, architect, developer, frontend, tester, reviewer.",
  parameters: {
    story: { type: "string", required: true, description: "The user story to implement." },
    repository: { type: "string", description: "Where the code lives." },
  },
  steps: [
    {
      id: "requirements",
      name: "Requirements",
      executor: { kind: "agent", capability: "story.pm" },
      weight: 2,
    },
    {
      id: "codebase_index",
      name: "Codebase index",
      executor: { kind: "agent", capability: "story.architect" },
      dependsOn: ["requirements"],
      weight: 1,
    },
    {
      id: "implementation_plan",
      name: "Implementation plan",
      executor: { kind: "agent", capability: "story.architect" },
      dependsOn: ["codebase_index"],
      weight: 2,
    },
    {
      id: "task_breakdown",
      name: "Task breakdown",
      executor: { kind: "agent", capability: "story.architect" },
      dependsOn: ["implementation_plan"],
      weight: 1,
    },
    {
      id: "backend",
      name: "Implementation (backend)",
      executor: { kind: "agent", capability: "story.developer" },
      dependsOn: ["task_breakdown"],
      weight: 4,
    },
    {
      id: "frontend",
      name: "Implementation (frontend)",
      executor: { kind: "agent", capability: "story.frontend" },
      dependsOn: ["task_breakdown"],
      weight: 3,
    },
    {
      id: "tests",
      name: "Implementation (tests)",
      executor: { kind: "agent", capability: "story.tester" },
      dependsOn: ["task_breakdown"],
      weight: 2,
    },
    {
      id: "review",
      name: "Final review",
      executor: { kind: "agent", capability: "story.reviewer" },
      dependsOn: ["backend", "frontend", "tests"],
      weight: 2,
    },
  ],
};

export const BUILTIN_TEMPLATES: readonly TemplateDefinition[] = [MISSION_TEMPLATE, STORY_TEMPLATE];
