import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** The shipped Prometheus folder (configs, alert rules, promtool tests). */
export const PROMETHEUS_DIR = fileURLToPath(new URL("../../prometheus/", import.meta.url));

/** Where every runbook_url points (docs/runbooks.md on the default branch) and every dashboard_url. */
export const RUNBOOK_BASE = "https://github.com/overseer/overseer/blob/main/docs/runbooks.md#";
export const GRAFANA_BASE = "http://localhost:3000/d/";
export const DASHBOARD_UIDS = [
  "overseer-oncall",
  "overseer-agents",
  "overseer-tasks",
  "overseer-pipelines",
  "overseer-llm",
  "overseer-recovery",
];

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleFile {
  file: string;
  groups: Array<{ name: string; rules: Rule[] }>;
}

/** Files in a folder of the Prometheus directory, by extension, sorted. */
export function promFiles(folder: string, suffix: string): string[] {
  return readdirSync(`${PROMETHEUS_DIR}${folder}`)
    .filter((f) => f.endsWith(suffix))
    .sort()
    .map((f) => `${PROMETHEUS_DIR}${folder}/${f}`);
}

/** Every shipped alert rule file, parsed. */
export function ruleFiles(): RuleFile[] {
  return promFiles("alerts", ".yml").map((file) => ({ file, ...parse(readFileSync(file, "utf8")) }));
}

/** Every alerting rule of the shipped files. */
export function alertRules(): Rule[] {
  return ruleFiles().flatMap((f) => f.groups.flatMap((g) => g.rules.filter((r) => r.alert)));
}
