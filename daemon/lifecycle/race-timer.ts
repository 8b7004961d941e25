/**
 * Races `work` against a timer of `ms`: the answer is `work`'s, or `onTimeout()`'s (a value, or a
 * rejection if it throws) once the timer fires first. The timer is always cleared, so it cannot
 * hold the event loop; abandoned work keeps running, and its late rejection is ignored.
 */
export async function raceTimer<T, U>(work: Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    }, ms);
  });
  work.catch(() => {});
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
