import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";

/**
 * Takes an exclusive pid lock file inside `dir` (created if needed). A lock left behind by a
 * process that no longer exists is taken over; a live holder makes this throw.
 * Returns the release function.
 */
export async function acquireDirLock(dir: string, name: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new Error(`${dir} is in use by process ${holder} (lock file ${path})`);
      }
      await rm(path, { force: true }); // stale: its owner died without cleaning up
    }
  }
  throw new Error(`could not lock ${dir} (lock file ${path})`);
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
