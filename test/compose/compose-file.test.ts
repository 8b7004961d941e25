import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// docker-compose.yml cannot be run here (no Docker engine). These checks are what can be checked:
// the Compose schema (Debian's docker-compose 1.29 validates without an engine), and that every file
// a service mounts exists and the services' configs point at each other by the right names.

const root = resolve(import.meta.dirname, "../..");
const compose = parse(readFileSync(join(root, "docker-compose.yml"), "utf8"));
const services = compose.services as Record<string, any>;
const yamlOf = (path: string) => parse(readFileSync(join(root, path), "utf8"));
/** A JSON file with comments (tsconfig), read the way TypeScript reads it. */
const parseJsonc = (path: string) => ts.readConfigFile(join(root, path), ts.sys.readFile).config;

describe("docker-compose.yml", () => {
  it("passes `docker-compose config` (schema and variables)", () => {
    const found = spawnSync("docker-compose", ["version"], { encoding: "utf8" });
    if (found.error) {
      // .ci/run installs it; locally it may be missing, and then this check cannot run.
      expect(process.env.CI, "docker-compose is not installed (apt-get install docker-compose)").not.toBe(
        "true",
      );
      return;
    }
    execFileSync("docker-compose", ["-f", join(root, "docker-compose.yml"), "config", "-q"], { cwd: root });
  });

  it("has the whole on-call loop", () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        "alertmanager",
        "demo-fleet",
        "grafana",
        "overseer",
        "postgres",
        "prometheus",
        "redis",
        "tempo",
      ].sort(),
    );
    const redis = services.redis.command.join(" ");
    expect(redis).toContain("--maxmemory-policy noeviction");
    expect(redis).toContain("--appendonly yes");
  });

  it("mounts only files that exist, and publishes ports on 127.0.0.1 only", () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const volume of (svc.volumes ?? []) as string[]) {
        const host = volume.split(":")[0] as string;
        if (!host.startsWith(".")) continue;
        expect(existsSync(join(root, host)), `${name} mounts ${host}`).toBe(true);
      }
      for (const port of (svc.ports ?? []) as string[])
        expect(port, `${name} port`).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it("Prometheus scrapes the daemon service, loads the shipped rules and alerts the Alertmanager service", () => {
    const flag = (services.prometheus.command as string[]).find((c) => c.startsWith("--config.file="));
    const inContainer = flag?.split("=")[1] as string;
    expect(inContainer.startsWith("/etc/prometheus/")).toBe(true);
    const file = join("prometheus", inContainer.slice("/etc/prometheus/".length));
    const config = yamlOf(file);
    const targets = JSON.stringify(config.scrape_configs);
    expect(targets).toContain("overseer:8080");
    expect(JSON.stringify(config.alerting)).toContain("alertmanager:9093");
    const ruleFiles = (config.rule_files ?? []) as string[];
    expect(ruleFiles.length).toBeGreaterThan(0);
    const alertFiles = readdirSync(join(root, "prometheus/alerts")).filter((f) => f.endsWith(".yml"));
    expect(alertFiles.length).toBeGreaterThan(0);
    // Relative rule paths resolve against the config file's folder, which is the mounted ./prometheus.
    for (const pattern of ruleFiles) {
      const dir = pattern.startsWith("/etc/prometheus/") ? pattern.slice("/etc/prometheus/".length) : pattern;
      expect(existsSync(join(root, "prometheus", dir.split("/")[0] as string)), pattern).toBe(true);
    }
    expect(services.prometheus.volumes).toContain("./prometheus:/etc/prometheus:ro");
  });

  it("Grafana's provisioning points at the Prometheus and Tempo services and at the mounted dashboards", () => {
    const ds = yamlOf("grafana/provisioning/datasources/datasources.yml");
    const urls = (ds.datasources as Array<{ url: string }>).map((d) => d.url);
    expect(urls).toContain("http://prometheus:9090");
    expect(urls).toContain("http://tempo:3200");
    const dashboards = yamlOf("grafana/provisioning/dashboards/dashboards.yml");
    const path = dashboards.providers[0].options.path as string;
    const mount = (services.grafana.volumes as string[]).find((v) => v.startsWith("./grafana/dashboards:"));
    expect(mount?.split(":")[1]).toBe(path);
    const home = services.grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH as string;
    expect(existsSync(join(root, "grafana/dashboards", home.slice(path.length + 1)))).toBe(true);
  });

  it("the daemon and the demo fleet run the image the Dockerfile builds, its compiled output", () => {
    // One image for both (built once, tagged once); nothing mounted from the repository and no tsx:
    // the image carries the compiled daemon and demo (test/ship/dockerfile.test.ts checks the image).
    const outDir = (parseJsonc("tsconfig.build.json").compilerOptions as { outDir: string }).outDir;
    for (const name of ["overseer", "demo-fleet"]) {
      const svc = services[name];
      const context = typeof svc.build === "string" ? svc.build : svc.build?.context;
      expect(context, `${name} builds`).toBe(".");
      expect(existsSync(join(root, context, svc.build?.dockerfile ?? "Dockerfile"))).toBe(true);
      expect(svc.image, `${name} tags the image`).toBe(services.overseer.image);
      expect(svc.volumes ?? [], `${name} mounts nothing of the repository`).toEqual([]);
      expect(JSON.stringify(svc.command ?? []), name).not.toContain("tsx");
      // tini is the image's PID 1; Docker's init in front of it would be a second one.
      expect(svc.init, `${name} init`).toBeUndefined();
    }
    // The daemon runs the image's CMD; the fleet runs the compiled demo/fleet-main.ts.
    expect(services.overseer.command).toBeUndefined();
    const script = (services["demo-fleet"].command as string[]).find((a) => a.endsWith(".js")) as string;
    expect(script.startsWith(`${outDir}/`), script).toBe(true);
    expect(existsSync(join(root, script.slice(outDir.length + 1).replace(/\.js$/, ".ts"))), script).toBe(
      true,
    );
    // The image's HEALTHCHECK probes the daemon's port; the fleet serves none.
    expect(services["demo-fleet"].healthcheck).toEqual({ disable: true });
  });

  it("gives the daemon longer to stop than its drain takes", () => {
    const seconds = (d: string) =>
      Number.parseFloat(d) * (d.endsWith("ms") ? 0.001 : d.endsWith("m") ? 60 : 1);
    const drain = seconds(services.overseer.environment.OVERSEER_SHUTDOWN_GRACE_MS as string);
    expect(seconds(services.overseer.stop_grace_period as string)).toBeGreaterThan(drain);
  });

  it("the daemon exports traces to the Tempo service's OTLP/HTTP receiver", () => {
    expect(services.overseer.environment.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://tempo:4318");
    const tempo = yamlOf("grafana/tempo/tempo.yaml");
    expect(tempo.distributor.receivers.otlp.protocols.http.endpoint).toBe("0.0.0.0:4318");
  });
});
