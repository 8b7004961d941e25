import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { ConfigError } from "../../daemon/config/compile-config.ts";
import { readTemplateFiles } from "../../daemon/pipelines/template-files.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ovs-templates-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const valid = (name: string) =>
  JSON.stringify({ name, steps: [{ id: "a", name: "A", executor: { kind: "agent", capability: "x.y" } }] });

it("reads every *.json template in name order and ignores other files", async () => {
  const dir = await dirWith({
    "b.json": valid("beta"),
    "a.json": valid("alpha"),
    "notes.txt": "not a template",
  });
  expect((await readTemplateFiles(dir)).map((t) => t.name)).toEqual(["alpha", "beta"]);
  expect(await readTemplateFiles("")).toEqual([]);
});

it("an invalid or unreadable template file stops start-up with a ConfigError naming the file", async () => {
  const dir = await dirWith({
    "good.json": valid("good"),
    "bad.json": "{ nope",
    "cycle.json": JSON.stringify({
      name: "cycle",
      steps: [
        { id: "a", name: "A", executor: { kind: "agent", capability: "x" }, dependsOn: ["b"] },
        { id: "b", name: "B", executor: { kind: "agent", capability: "x" }, dependsOn: ["a"] },
      ],
    }),
  });
  const error = await readTemplateFiles(dir).catch((e) => e);
  expect(error).toBeInstanceOf(ConfigError);
  expect(error.exitCode).toBe(78);
  expect(error.problems).toHaveLength(2);
  expect(error.message).toMatch(/bad\.json/);
  expect(error.message).toMatch(/cycle\.json: invalid template: steps form a cycle/);
  await expect(readTemplateFiles(join(dir, "missing"))).rejects.toBeInstanceOf(ConfigError);
});
