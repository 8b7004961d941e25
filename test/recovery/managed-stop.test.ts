import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseManagedAgents } from "../../recovery/managed/managed-config.ts";
import { ManagedSupervisor } from "../../recovery/managed/managed-supervisor.ts";

/** Whether a process exists and is not a zombie (an orphan may wait for a reaper that never comes). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

const sink = { started() {}, exited() {}, gaveUp() {}, states() {} };

describe("stopping managed agents", () => {
  it("stops the whole process group within the budget: a shell's grandchild that ignores SIGTERM is gone too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ovs-managed-stop-"));
    const pidFile = join(dir, "grandchild.pid");
    const child = join(dir, "child.js");
    writeFileSync(
      child,
      `process.on("SIGTERM", () => {});
require("node:fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
setInterval(() => {}, 1000);`,
    );
    // "; exit 0" keeps the shell from exec-ing node: node is a grandchild of the supervisor.
    const [spec] = parseManagedAgents(
      JSON.stringify({
        agents: [
          { name: "shell", command: "sh", args: ["-c", `node ${child}; exit 0`], stopGraceMs: 60_000 },
        ],
      }),
    );
    const supervisor = new ManagedSupervisor([spec as never], {}, sink, () => {});
    supervisor.start();
    const shellPid = supervisor.list()[0]?.pid as number;
    expect(shellPid).toBeGreaterThan(0);
    for (let i = 0; i < 200 && !(existsSync(pidFile) && readFileSync(pidFile, "utf8")); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    expect(alive(grandchild)).toBe(true);

    // A short budget: far below the entry's 60 s grace time, which it clamps.
    await supervisor.stop(Date.now() + 300);
    let gone = false;
    for (let i = 0; i < 40 && !gone; i++) {
      gone = !alive(shellPid) && !alive(grandchild);
      if (!gone) await new Promise((r) => setTimeout(r, 25));
    }
    try {
      expect({ shell: alive(shellPid), grandchild: alive(grandchild) }).toEqual({
        shell: false,
        grandchild: false,
      });
      expect(supervisor.list()[0]?.state).toBe("stopped");
    } finally {
      for (const pid of [shellPid, grandchild]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
    }
  }, 20_000);
});
