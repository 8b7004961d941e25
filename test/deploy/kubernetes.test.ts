import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { compileConfig } from "../../daemon/config/compile-config.ts";
import { KUBERNETES_BASE, renderGeneratedManifests } from "../../tools/kubernetes-manifests.ts";
import { ruleFiles } from "../alerts/rule-files.ts";
import {
  type K8sObject,
  kustomizeBuild,
  type Rendered,
  readKustomization,
  splitImage,
  yamlDocuments,
} from "./kustomize.ts";
import { validateManifest } from "./manifest-schema.ts";

// deploy/kubernetes cannot be applied here (no cluster, no kubectl). These checks are what can be
// checked without one: every object against the Kubernetes and Prometheus-Operator schemas (with
// unknown fields refused), the overlays rendered as kustomize would and validated again, the
// objects pointing at each other by the right names and ports, the daemon's own configuration
// check run on the Deployment's environment, and the generated copies of the alert rules and
// dashboards identical to their sources.

const root = resolve(import.meta.dirname, "../..");
const KUBE = join(root, "deploy/kubernetes");
const OVERLAYS = ["production", "dev"];

/** Every file under a folder, recursively, relative to the repository root. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [relative(root, path)];
  });
}

const render = (overlay: string): Rendered[] =>
  kustomizeBuild(join(KUBE, "overlays", overlay), { envExampleFallback: true });

function one(objects: Rendered[], kind: string, name: string): K8sObject {
  const found = objects.filter((r) => r.object.kind === kind && r.object.metadata.name === name);
  expect(
    found.map((r) => r.source),
    `${kind}/${name}`,
  ).toHaveLength(1);
  return found[0]!.object;
}

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe("deploy/kubernetes", () => {
  const yamlFiles = filesUnder(KUBE).filter((f) => f.endsWith(".yaml") && !f.endsWith("kustomization.yaml"));

  it("every manifest is valid against its kind's schema, with no field the schema does not define", () => {
    expect(yamlFiles.length).toBeGreaterThan(10);
    const problems: string[] = [];
    let objects = 0;
    for (const file of yamlFiles) {
      for (const object of yamlDocuments(join(root, file))) {
        objects++;
        try {
          validateManifest(object, file);
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
    }
    expect(objects).toBeGreaterThan(10);
    expect(problems).toEqual([]);
  });

  it("the schema check refuses the mistakes it is there for (a typo'd field, a wrong type, a bad duration)", () => {
    // A guard on the check itself: the compiled schemas alone accept unknown fields.
    const deployment = yamlDocuments(join(KUBE, "base/deployment.yaml"))[0]!;
    const container = () => mistake.spec.template.spec.containers[0];
    let mistake = structuredClone(deployment);
    container().readynessProbe = container().readinessProbe;
    delete container().readinessProbe;
    expect(() => validateManifest(mistake, "typo")).toThrow(
      "fields the schema does not define: /spec/template/spec/containers/0/readynessProbe",
    );
    mistake = structuredClone(deployment);
    mistake.spec.replicas = "three";
    expect(() => validateManifest(mistake, "type")).toThrow("data/spec/replicas must be integer");
    mistake = structuredClone(deployment);
    container().livenessProbe.httpGet.port = true;
    expect(() => validateManifest(mistake, "port")).toThrow("httpGet/port must be string");
    const rule = yamlDocuments(join(KUBE, "base/prometheusrule.yaml"))[0]!;
    rule.spec.groups[0].rules[0].for = "5 minutes";
    expect(() => validateManifest(rule, "for")).toThrow("/for must match pattern");
    expect(() => validateManifest({ ...deployment, kind: "StatefulSet" }, "kind")).toThrow("no schema for");
  });

  it("every kustomization lists only files that exist, and every manifest is in some kustomization", () => {
    const listed = new Set<string>();
    const dirs = filesUnder(KUBE)
      .filter((f) => f.endsWith("kustomization.yaml"))
      .map((f) => join(root, f, ".."));
    for (const dir of dirs) {
      for (const resource of readKustomization(dir).resources ?? []) {
        expect(existsSync(join(dir, resource)), `${relative(root, dir)}: ${resource}`).toBe(true);
        listed.add(relative(root, join(dir, resource)));
      }
    }
    for (const file of yamlFiles) expect(listed, `${file} is in no kustomization`).toContain(file);
  });

  for (const overlay of OVERLAYS) {
    describe(`overlays/${overlay}, rendered`, () => {
      const objects = render(overlay);
      const deployment = one(objects, "Deployment", "overseer");
      const pod = deployment.spec.template;
      const container = pod.spec.containers.find((c: { name: string }) => c.name === "overseer");

      it("is valid against the schemas after its patches, images and namespace", () => {
        const problems: string[] = [];
        for (const r of objects) {
          try {
            validateManifest(r.object, `${overlay}: ${relative(root, r.source)}`);
          } catch (error) {
            problems.push((error as Error).message);
          }
        }
        expect(problems).toEqual([]);
        const names = objects.map((r) => `${r.object.kind}/${r.object.metadata.name}`);
        expect(new Set(names).size, "one object per kind and name").toBe(names.length);
        for (const r of objects) expect(r.object.metadata.namespace, names.join()).toBeTruthy();
      });

      it("probes readiness on /readyz and liveness on /healthz, on the container's HTTP port", () => {
        const http = container.ports.find((p: { name: string }) => p.name === "http");
        expect(http.containerPort).toBe(8080);
        expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
        // Liveness must not follow Postgres or Redis: /healthz, never /readyz.
        expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
        expect(container.startupProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
        expect(container.resources.requests.cpu).toBeTruthy();
        expect(container.resources.limits.memory).toBeTruthy();
      });

      it("the daemon's own configuration check accepts the environment, secrets resolved, with nothing generated", () => {
        const secrets = objects.filter((r) => r.object.kind === "Secret").map((r) => r.object);
        const env: Record<string, string> = {};
        const source = readFileSync(join(root, "daemon/config/compile-config.ts"), "utf8");
        type EnvVar = {
          name: string;
          value?: string;
          valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
        };
        for (const e of container.env as EnvVar[]) {
          // A misspelled variable would be ignored by the daemon without a word.
          expect(source, `${e.name} is read by daemon/config/compile-config.ts`).toMatch(
            new RegExp(`env\\.${e.name}\\b|"${e.name}"`),
          );
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref) {
            env[e.name] = e.value as string;
            continue;
          }
          const secret = secrets.find((s) => s.metadata.name === ref.name);
          expect(secret, `Secret ${ref.name} is generated by the overlay`).toBeDefined();
          const value = secret?.data?.[ref.key];
          if (value === undefined) expect(ref.optional, `${ref.name} has no key ${ref.key}`).toBe(true);
          else env[e.name] = Buffer.from(value, "base64").toString();
        }
        expect(env.REDIS_URL ?? env.REDIS_CLUSTER_NODES, "REDIS_URL or REDIS_CLUSTER_NODES").toBeTruthy();
        const config = compileConfig(env);
        expect(config.generatedSecrets, "tokens that would be random per replica").toEqual([]);
        expect(config.allowEmbedded).toBe(false);
        expect(config.host).toBe("0.0.0.0");
        expect(config.port).toBe(8080);
        // SIGKILL must not cut the drain: the preStop pause and the daemon's grace fit in the period.
        const preStop = container.lifecycle.preStop.sleep.seconds as number;
        expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(
          preStop + config.shutdownGraceMs / 1000,
        );
      });

      it("the Service, PodDisruptionBudget and ServiceMonitor select the daemon's pods and port", () => {
        const labels = pod.metadata.labels;
        expect(matches(deployment.spec.selector.matchLabels, labels)).toBe(true);
        const service = one(objects, "Service", "overseer");
        expect(matches(service.spec.selector, labels)).toBe(true);
        const port = service.spec.ports.find((p: { name: string }) => p.name === "http");
        expect(container.ports.map((p: { name: string }) => p.name)).toContain(port.targetPort);
        const pdb = one(objects, "PodDisruptionBudget", "overseer");
        expect(matches(pdb.spec.selector.matchLabels, labels)).toBe(true);
        // Only the daemon's pods: not the dev overlay's Redis or Postgres.
        for (const r of objects.filter((o) => o.object.kind === "Deployment" && o.object !== deployment)) {
          expect(matches(service.spec.selector, r.object.spec.template.metadata.labels)).toBe(false);
        }
        const monitor = one(objects, "ServiceMonitor", "overseer");
        expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
        expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: "http", path: "/metrics" })]);
      });

      it("scrapes under the job name the shipped alert rules select", () => {
        const service = one(objects, "Service", "overseer");
        const monitor = one(objects, "ServiceMonitor", "overseer");
        // The Prometheus Operator names the job after this Service label (else the Service's name).
        const job = service.metadata.labels?.[monitor.spec.jobLabel];
        const jobs = new Set(
          ruleFiles().flatMap((f) =>
            f.groups.flatMap((g) =>
              g.rules.flatMap((r) => [...r.expr.matchAll(/job="([^"]+)"/g)].map((m) => m[1])),
            ),
          ),
        );
        expect([...jobs]).toEqual([job]);
      });

      it("has the PrometheusRule and one dashboard ConfigMap per shipped dashboard for the Grafana sidecar", () => {
        const rule = one(objects, "PrometheusRule", "overseer");
        expect(rule.spec.groups.length).toBeGreaterThan(0);
        const dashboards = readdirSync(join(root, "grafana/dashboards")).filter((f) => f.endsWith(".json"));
        const maps = objects.filter(
          (r) => r.object.kind === "ConfigMap" && r.object.metadata.labels?.grafana_dashboard,
        );
        expect(maps.flatMap((m) => Object.keys(m.object.data)).sort()).toEqual(dashboards.sort());
        for (const m of maps) expect(m.object.metadata.labels?.grafana_dashboard).toBe("1");
      });
    });
  }

  it("production runs three replicas of the image at its tag; dev one, with its own Redis and Postgres", () => {
    const production = one(render("production"), "Deployment", "overseer");
    expect(production.spec.replicas).toBe(3);
    const [, tag] = splitImage(production.spec.template.spec.containers[0].image);
    expect(tag).toBeTruthy();
    const dev = render("dev");
    expect(one(dev, "Deployment", "overseer").spec.replicas).toBe(1);
    expect(one(dev, "Deployment", "redis").spec.template.spec.containers[0].args.join(" ")).toContain(
      "--maxmemory-policy noeviction",
    );
    one(dev, "Service", "postgres");
  });

  it("the base deploys this version of the repository", () => {
    const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
    const images = readKustomization(join(root, KUBERNETES_BASE)).images ?? [];
    expect(images).toEqual([{ name: "overseer", newTag: version }]);
  });

  it("production's secrets file is git-ignored, and its example has every key the Deployment requires", () => {
    const dir = join(KUBE, "overlays/production");
    expect(readFileSync(join(dir, ".gitignore"), "utf8").split("\n")).toContain("secrets.env");
    const example = readFileSync(join(dir, "secrets.env.example"), "utf8");
    for (const key of [
      "DATABASE_URL",
      "REDIS_URL",
      "OVERSEER_ADMIN_TOKEN",
      "OVERSEER_OPERATOR_TOKEN",
      "OVERSEER_VIEWER_TOKEN",
      "OVERSEER_AGENT_SECRET",
    ]) {
      expect(example).toMatch(new RegExp(`^${key}=.+$`, "m"));
    }
  });

  it("the PrometheusRule carries exactly the rule groups of prometheus/alerts/", () => {
    // Parsed independently of the generator (test/alerts/rule-files.ts), so neither can drift alone.
    const rule = yamlDocuments(join(root, KUBERNETES_BASE, "prometheusrule.yaml"))[0]!;
    expect(rule.spec.groups).toEqual(ruleFiles().flatMap((f) => f.groups));
  });

  it("the dashboard ConfigMaps carry the committed dashboards byte for byte, within kubectl apply's limit", () => {
    for (const file of readdirSync(join(root, "grafana/dashboards")).filter((f) => f.endsWith(".json"))) {
      const uid = file.replace(/\.json$/, "");
      const [map] = yamlDocuments(join(root, KUBERNETES_BASE, "dashboards", `${uid}-dashboard.yaml`));
      expect(map?.data[file]).toBe(readFileSync(join(root, "grafana/dashboards", file), "utf8"));
      // Client-side `kubectl apply` keeps the whole object in a 256 KiB annotation.
      expect(Buffer.byteLength(JSON.stringify(map))).toBeLessThan(256 * 1024);
    }
  });

  it("the committed generated files are exactly what `npm run k8s:generate` writes (no drift, no stray files)", () => {
    const expected = renderGeneratedManifests();
    const drifted = [...expected].filter(([path, text]) => {
      const file = join(root, path);
      return !existsSync(file) || readFileSync(file, "utf8") !== text;
    });
    expect(
      drifted.map(([path]) => path),
      "regenerate with `npm run k8s:generate` and commit the result",
    ).toEqual([]);
    const dashboards = filesUnder(join(root, KUBERNETES_BASE, "dashboards"));
    expect(dashboards.sort()).toEqual([...expected.keys()].filter((p) => p.includes("/dashboards/")).sort());
  });
});
