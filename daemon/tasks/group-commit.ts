/**
 * Group commit: calls that arrive while a commit is in flight wait and go together in the next one
 * (at most `maxBatch` a commit), so concurrent submits cost one statement and one Redis round trip
 * instead of one each. An idle caller is committed at once: no timer, no added latency. Each caller
 * gets its own answer. When a shared commit fails, each of its callers is committed again alone, so
 * one caller's bad input (a NUL in a payload, which Postgres refuses) fails that caller only.
 */
export class GroupCommit<I, O> {
  private pending: Array<{ input: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private flushing = false;

  constructor(
    private readonly commit: (inputs: I[]) => Promise<O[]>,
    private readonly maxBatch: number,
  ) {}

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** One caller committed by itself, after the shared commit it was in failed. */
  private async alone(b: { input: I; resolve: (o: O) => void; reject: (e: unknown) => void }): Promise<void> {
    try {
      const [out] = await this.commit([b.input]);
      b.resolve(out as O);
    } catch (error) {
      b.reject(error);
    }
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        try {
          const out = await this.commit(batch.map((b) => b.input));
          if (out.length !== batch.length)
            throw new Error(`commit answered ${out.length} for ${batch.length}`);
          for (const [i, b] of batch.entries()) b.resolve(out[i] as O);
        } catch (error) {
          if (batch.length === 1) (batch[0] as (typeof batch)[number]).reject(error);
          else await Promise.all(batch.map((b) => this.alone(b)));
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
