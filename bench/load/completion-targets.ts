// The drain-mode side of the worker children's IPC protocol (bull-worker.ts, skiplocked-worker.ts,
// graphile-worker.ts): the parent sends {type:"notify", total} before a phase and waits for
// {type:"reached", total, at, completed}, `at` being this process's clock when the count got there,
// so the phase ends at the last completion rather than when the parent happened to hear of it.

type Send = (message: Record<string, unknown>) => void;

export interface CompletionTargets {
  /** Completions counted so far. */
  completed(): number;
  /** Counts one completion (at the given time) and answers every target it reaches. */
  complete(at?: number): void;
  /** Registers a target; answers at once when it is already reached. */
  expect(total: number): void;
}

export function completionTargets(send: Send): CompletionTargets {
  let completed = 0;
  const targets = new Set<number>();
  const check = (at: number) => {
    for (const total of targets) {
      if (completed < total) continue;
      targets.delete(total);
      send({ type: "reached", total, at, completed });
    }
  };
  return {
    completed: () => completed,
    complete(at = Date.now()) {
      completed++;
      check(at);
    },
    expect(total) {
      targets.add(total);
      check(Date.now());
    },
  };
}
