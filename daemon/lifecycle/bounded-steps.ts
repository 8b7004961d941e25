import { raceTimer } from "./race-timer.ts";

/**
 * Runs shutdown steps in order within one overall deadline. A step that overruns its share is
 * abandoned (its promise keeps running, ignored) and named, so a stuck dependency can neither
 * hold the process past its grace time nor hide which step it was.
 */
export async function runBoundedSteps(
  steps: Array<[name: string, run: () => Promise<unknown>]>,
  deadlineMs: number,
  now: () => number = Date.now,
): Promise<{ overran: string[] }> {
  const end = now() + deadlineMs;
  const overran: string[] = [];
  for (const [name, run] of steps) {
    // Every step gets at least a short slot, even after an earlier one used up the budget.
    const budget = Math.max(250, end - now());
    const done = run().then(
      () => "done" as const,
      () => "done" as const,
    );
    const outcome = await raceTimer(done, budget, () => "timeout" as const);
    if (outcome === "timeout") overran.push(name);
  }
  return { overran };
}
