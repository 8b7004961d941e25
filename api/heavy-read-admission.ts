/**
 * Admission for heavy reads (`config.heavy` routes: the training-data export): at most `perKey`
 * running per principal and `total` on this replica. A caller past either gets 429 at once instead
 * of a place in a queue: a read that waited would hold its socket and memory while it waited, and
 * the point is that one caller cannot take what the others need. In memory, per replica; pure.
 */
export class HeavyReadAdmission {
  private readonly running = new Map<string, number>();
  private all = 0;

  constructor(
    private readonly perKey: number,
    private readonly total: number,
  ) {}

  /** Admits one read for `key`: a release function (idempotent), or null when a limit is reached. */
  enter(key: string): (() => void) | null {
    const mine = this.running.get(key) ?? 0;
    if (mine >= this.perKey || this.all >= this.total) return null;
    this.running.set(key, mine + 1);
    this.all++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.all--;
      const left = (this.running.get(key) ?? 1) - 1;
      if (left <= 0) this.running.delete(key);
      else this.running.set(key, left);
    };
  }
}
