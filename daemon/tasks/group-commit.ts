/**
 * Group commit: calls that arrive while a commit is in flight wait and go together in the next one
 * (at most `maxBatch` a commit), so concurrent submits cost one statement and one Redis round trip
 * instead of one each. An idle caller is committed at once: no timer, no added latency. Each caller
 * gets its own answer, or the commit's error if the commit it went in failed.
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
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
