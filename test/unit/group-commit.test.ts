import { describe, expect, it } from "vitest";
import { GroupCommit } from "../../daemon/tasks/group-commit.ts";

/** A commit that records its batches and finishes when the test says so. */
function controlledCommit() {
  const batches: number[][] = [];
  const finish: Array<(fail?: Error) => void> = [];
  const commit = (inputs: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push(inputs);
      finish.push((fail) => (fail ? reject(fail) : resolve(inputs.map((n) => `done ${n}`))));
    });
  return { batches, finish, commit };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("GroupCommit", () => {
  it("commits an idle caller at once, and those arriving meanwhile together in the next commit", async () => {
    const c = controlledCommit();
    const g = new GroupCommit(c.commit, 100);
    const first = g.submit(1);
    expect(c.batches).toEqual([[1]]); // no timer: the first commit starts in the same turn
    const rest = [2, 3, 4].map((n) => g.submit(n));
    c.finish[0]?.();
    expect(await first).toBe("done 1");
    await tick();
    expect(c.batches).toEqual([[1], [2, 3, 4]]);
    c.finish[1]?.();
    expect(await Promise.all(rest)).toEqual(["done 2", "done 3", "done 4"]);
  });

  it("takes at most maxBatch a commit, in arrival order", async () => {
    const c = controlledCommit();
    const g = new GroupCommit(c.commit, 2);
    const all = [1, 2, 3, 4, 5].map((n) => g.submit(n));
    for (let i = 0; i < 4; i++) {
      await tick();
      c.finish[i]?.();
    }
    expect(await Promise.all(all)).toEqual(["done 1", "done 2", "done 3", "done 4", "done 5"]);
    expect(c.batches).toEqual([[1], [2, 3], [4, 5]]);
  });

  it("a failed commit fails its own callers only; the next commit goes ahead", async () => {
    const c = controlledCommit();
    const g = new GroupCommit(c.commit, 100);
    const first = g.submit(1);
    const second = g.submit(2);
    c.finish[0]?.(new Error("postgres went away"));
    await expect(first).rejects.toThrow("postgres went away");
    await tick();
    c.finish[1]?.();
    expect(await second).toBe("done 2");
    expect(
      await (async () => {
        const third = g.submit(3);
        await tick();
        c.finish[2]?.();
        return third;
      })(),
    ).toBe("done 3");
  });

  it("a shared commit that fails commits each of its callers alone: only the bad input fails", async () => {
    const commits: number[][] = [];
    const g = new GroupCommit(async (inputs: number[]) => {
      commits.push(inputs);
      if (inputs.includes(13)) throw new Error("invalid byte sequence");
      return inputs.map((n) => `done ${n}`);
    }, 100);
    const all = [1, 2, 13, 4].map((n) => g.submit(n).catch((e: Error) => e.message));
    expect(await Promise.all(all)).toEqual(["done 1", "done 2", "invalid byte sequence", "done 4"]);
    expect(commits).toEqual([[1], [2, 13, 4], [2], [13], [4]]);
  });
});
