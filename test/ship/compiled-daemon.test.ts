import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getFreePort } from "../../app/embedded/free-port.ts";
import { build } from "../../tools/build.ts";
import { call } from "../helpers/api-client.ts";
import { dropNamespace } from "../helpers/namespace-cleanup.ts";
import { killAndWait, type Launch, spawnAgent, spawnDaemon } from "../helpers/processes.ts";
import { daemonEnv, freshNamespace, TOKENS } from "../helpers/test-env.ts";

/**
 * What production runs: `npm run build`'s JavaScript under plain `node`, no tsx. The build goes to a
 * directory inside the repository (node_modules is found by walking up from it, as dist/ finds it)
 * and not to dist/, so the suite never overwrites a developer's build.
 *
 * The daemon, one agent and one task end to end, then the compiled CLI, then SIGTERM: under this
 * test's Node (the current LTS line in CI), and under OVERSEER_SMOKE_NODE when .ci/run sets it to the
 * oldest line package.json's engines claims.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const namespace = freshNamespace();
const OUT = join(ROOT, ".overseer", `build-${namespace}`);

const nodes = [
  process.execPath,
  ...(process.env.OVERSEER_SMOKE_NODE ? [process.env.OVERSEER_SMOKE_NODE] : []),
];
const versionOf = (node: string) => spawnSync(node, ["-v"], { encoding: "utf8" }).stdout.trim();
const compiled = (node: string, entry: string): Launch => ({
  node,
  args: ["--enable-source-maps", join(OUT, entry)],
});

beforeAll(async () => {
  await build(OUT);
  // npm's bin links (node_modules/.bin/overseer, `npm i -g`) start the CLI through a symlink.
  mkdirSync(join(OUT, "bin"));
  symlinkSync("../sdk/cli/main.js", join(OUT, "bin", "overseer"));
}, 180_000);

afterAll(async () => {
  rmSync(OUT, { recursive: true, force: true });
  await dropNamespace(namespace);
});

it("the build emits the entry points package.json names, and no TypeScript", () => {
  for (const entry of ["console/index.html", "console/app.js"])
    expect(existsSync(join(OUT, entry)), entry).toBe(true);
  for (const entry of ["app/main.js", "sdk/cli/main.js", "sdk/run-agent.js", "demo/main.js"]) {
    expect(existsSync(join(OUT, entry)), entry).toBe(true);
    expect(existsSync(join(OUT, `${entry}.map`)), `${entry}.map (source maps on)`).toBe(true);
  }
  const unrewritten = spawnSync("grep", ["-rlE", `from "[^"]+\\.ts"`, "--include=*.js", OUT], {
    encoding: "utf8",
  });
  expect(unrewritten.stdout, "compiled imports still naming .ts files").toBe("");
});

describe.each(nodes.map((node) => ({ node, version: versionOf(node) })))(
  "compiled, on Node $version",
  ({ node, version }) => {
    it("starts, answers /readyz, runs a task end to end, serves the CLI through a bin symlink, and drains on SIGTERM", async () => {
      const port = await getFreePort();
      const url = `http://127.0.0.1:${port}`;
      const type = `smoke_${port}`;
      const daemon = await spawnDaemon(
        daemonEnv(namespace, { NODE_ENV: "production" }),
        port,
        compiled(node, "app/main.js"),
      );
      try {
        const agent = await spawnAgent({
          url,
          name: `compiled-${port}`,
          capabilities: [type],
          launch: compiled(node, "sdk/run-agent.js"),
        });
        const submitted = await call(url, "POST", "/api/tasks", {
          token: TOKENS.operator,
          body: { type, payload: {} },
        });
        expect(submitted.status).toBe(202);
        const deadline = Date.now() + 30_000;
        let state = "";
        while (Date.now() < deadline) {
          state = (await call(url, "GET", `/api/tasks/${submitted.body.id}`, { token: TOKENS.viewer })).body
            .state;
          if (state === "completed") break;
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(state).toBe("completed");
        // The console the build bundled beside the daemon (dist/console), found with no setting.
        const ui = await fetch(`${url}/ui/`);
        expect(ui.status).toBe(200);
        expect(await ui.text()).toContain('src="app.js"');
        expect((await fetch(`${url}/ui/app.js`)).status).toBe(200);

        const cli = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
          const proc = spawn(node, [join(OUT, "bin", "overseer"), "status", "--json"], {
            env: { ...process.env, OVERSEER_URL: url, OVERSEER_TOKEN: TOKENS.viewer },
            stdio: ["ignore", "pipe", "inherit"],
          });
          let stdout = "";
          proc.stdout.on("data", (c: Buffer) => {
            stdout += c.toString();
          });
          proc.once("exit", (code) => resolve({ code, stdout }));
        });
        expect(cli.code).toBe(0);
        expect(JSON.parse(cli.stdout)).toBeTypeOf("object");
        expect(await killAndWait(agent.proc, "SIGTERM")).not.toBeUndefined();
      } finally {
        expect(await killAndWait(daemon, "SIGTERM")).toBe(0);
      }
      // CI's log says which Node lines the compiled build ran on (the acceptance asks for it).
      console.log(
        `compiled smoke on Node ${version} (${node}): /readyz 200, task completed, /ui 200, CLI exit 0, SIGTERM exit 0`,
      );
    }, 120_000);
  },
);
