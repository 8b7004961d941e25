import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { renderDashboards } from "./src/index.ts";

/**
 * `npm run grafana:generate`: writes every dashboard to grafana/dashboards/<uid>.json and removes
 * JSON files no dashboard produces any more. The output is committed; test/grafana/drift.test.ts
 * fails when it differs from what this would write.
 */
const dir = fileURLToPath(new URL("./dashboards/", import.meta.url));
await mkdir(dir, { recursive: true });
const files = renderDashboards();
for (const name of await readdir(dir)) {
  if (name.endsWith(".json") && !files.has(name)) await rm(`${dir}${name}`);
}
for (const [name, json] of files) await writeFile(`${dir}${name}`, json);
process.stdout.write(`wrote ${[...files.keys()].join(", ")} to grafana/dashboards/\n`);
