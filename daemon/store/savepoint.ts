import type { Tx } from "./pg-pool.ts";

/**
 * Runs `fn` inside a savepoint of the caller's transaction. An error that `undoable` accepts rolls
 * back to the savepoint (what `fn` wrote is undone, the transaction goes on) and is returned; any
 * other error is thrown as is, and the caller's transaction rolls back as a whole.
 */
export async function withSavepoint<T>(
  tx: Tx,
  name: string,
  fn: () => Promise<T>,
  undoable: (error: unknown) => boolean,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad savepoint name ${name}`);
  await tx.query(`SAVEPOINT ${name}`);
  try {
    const value = await fn();
    await tx.query(`RELEASE SAVEPOINT ${name}`);
    return { ok: true, value };
  } catch (error) {
    if (!undoable(error)) throw error;
    await tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
    return { ok: false, error };
  }
}
