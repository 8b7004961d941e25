import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { GENERATED_DIRS, renderGeneratedManifests } from "./kubernetes-manifests.ts";

/**
 * `npm run k8s:generate`: writes the PrometheusRule and the dashboard ConfigMaps under
 * deploy/kubernetes/base from prometheus/alerts/ and grafana/dashboards/, and removes generated
 * files no source produces any more. The output is committed; test/deploy/kubernetes.test.ts fails
 * when it differs from what this would write.
 */
const root = fileURLToPath(new URL("../", import.meta.url));
const files = renderGeneratedManifests();
for (const dir of GENERATED_DIRS) {
  await mkdir(`${root}${dir}`, { recursive: true });
  for (const name of await readdir(`${root}${dir}`)) {
    if (name.endsWith(".yaml") && !files.has(`${dir}/${name}`)) await rm(`${root}${dir}/${name}`);
  }
}
for (const [path, text] of files) {
  await mkdir(dirname(`${root}${path}`), { recursive: true });
  await writeFile(`${root}${path}`, text);
}
process.stdout.write(`wrote ${[...files.keys()].join(", ")}\n`);
