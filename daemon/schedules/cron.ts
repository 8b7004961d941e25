import cron from "node-cron";

/**
 * Cron expressions and time zones, via node-cron (pure: no timers are ever started).
 *
 * Format: 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading seconds field,
 * plus node-cron's names and macros (`@daily`, `mon-fri`, `jan`); read in `timezone` (IANA).
 */

/** Problems with an expression in a time zone; empty when both are valid. */
export function cronProblems(expression: string, timezone: string): string[] {
  const problems: string[] = [];
  if (!isTimeZone(timezone))
    problems.push(`unknown time zone "${timezone}" (use an IANA name, e.g. Europe/Paris)`);
  const check = cron.validateDetailed(expression);
  if (!check.valid) {
    for (const e of check.errors) problems.push(`cron ${e.field}: ${e.message}`);
  } else if (problems.length === 0) {
    // Valid fields can still never match within node-cron's 100-year look-ahead.
    try {
      nextTick(expression, timezone, new Date());
    } catch (error) {
      problems.push(`cron never fires: ${(error as Error).message}`);
    }
  }
  return problems;
}

export function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

const MAX_LOOKAHEAD = 4_096;

/**
 * The first tick strictly after `after`, or after the current clock when that is later.
 *
 * node-cron only computes forward from the present: `getNextRun()` and `getNextRuns(n)` start at
 * `new Date()` (and `getNextRun()` returns null on a task that was never started, so it is not
 * used here). A past `after` is therefore clamped to now; a future `after` is reached by paging
 * through the next ticks from now, up to MAX_LOOKAHEAD ticks, beyond which this throws. Callers
 * pass roughly now (the database clock, or the tick just fired), so a page or two suffices.
 */
export function nextTick(expression: string, timezone: string, after: Date): Date {
  const task = cron.createTask(expression, () => {}, { timezone });
  try {
    for (let n = 1; n <= MAX_LOOKAHEAD; n *= 8) {
      const found = task.getNextRuns(n).find((d) => d.getTime() > after.getTime());
      if (found) return found;
    }
    throw new RangeError(
      `no tick of "${expression}" within ${MAX_LOOKAHEAD} ticks after ${after.toISOString()}`,
    );
  } finally {
    // createTask registers the task in node-cron's global registry; destroy removes it.
    void task.destroy();
  }
}
