import {
  PrometheusRule,
  ServiceMonitor,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Namespace, Secret, Service } from "kubernetes-models/v1";

/**
 * Schema validation of Kubernetes objects, strictly: the Kubernetes and Prometheus-Operator OpenAPI
 * schemas as compiled by kubernetes-models and @kubernetes-models/prometheus-operator, plus a check
 * those validators do not make: every field must be one the schema knows. The compiled schemas
 * accept unknown fields (so does `kubectl apply` without --validate=strict, which drops them with a
 * warning), and a misspelled `readynessProbe` or `replica` would pass them and then silently do
 * nothing. The API server's strict field validation would refuse it; this catches it before a cluster.
 */

/** A model class: its prototype's `validate` runs the compiled schema on `this`. */
interface ModelClass {
  prototype: { validate(): void };
}

const MODELS: Record<string, ModelClass> = {
  "apps/v1/Deployment": Deployment,
  "v1/Service": Service,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Namespace": Namespace,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
};

/** The kinds this knows a schema for, as `apiVersion/kind`. */
export const KNOWN_KINDS = Object.keys(MODELS);

/**
 * Runs `validate` on `root` through proxies that record which keys the validator read of each
 * object. The compiled validators read each property their schema declares (and enumerate the keys
 * of maps such as labels), so a key nobody read is one the schema does not have. Returns those keys
 * as JSON pointers.
 */
function validateTracked(validate: (data: unknown) => void, root: object): string[] {
  const read = new Map<object, Set<PropertyKey>>();
  const where = new Map<object, string>();
  const proxies = new WeakMap<object, object>();
  const wrap = (value: unknown, path: string): unknown => {
    if (!value || typeof value !== "object") return value;
    const existing = proxies.get(value);
    if (existing) return existing;
    const keys = new Set<PropertyKey>();
    read.set(value, keys);
    where.set(value, path);
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        keys.add(key);
        const v = Reflect.get(target, key, receiver);
        return typeof key === "string" ? wrap(v, `${path}/${key}`) : v;
      },
      has(target, key) {
        keys.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        for (const key of Reflect.ownKeys(target)) keys.add(key);
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  validate(wrap(root, ""));
  const unknown: string[] = [];
  for (const [object, keys] of read) {
    if (Array.isArray(object)) continue;
    for (const key of Object.keys(object)) if (!keys.has(key)) unknown.push(`${where.get(object)}/${key}`);
  }
  return unknown;
}

/**
 * Validates one object against the schema of its apiVersion and kind. Throws with every problem:
 * a schema violation (wrong type, missing required field, bad pattern) or a field the schema does
 * not define. An object of a kind with no schema here is refused too, so nothing goes unchecked.
 */
export function validateManifest(object: Record<string, unknown>, where: string): void {
  const key = `${object.apiVersion}/${object.kind}`;
  const model = MODELS[key];
  if (!model) throw new Error(`${where}: no schema for ${key} (known: ${KNOWN_KINDS.join(", ")})`);
  let unknown: string[];
  try {
    unknown = validateTracked((data) => model.prototype.validate.call(data), object);
  } catch (error) {
    throw new Error(`${where} (${key}): ${(error as Error).message}`);
  }
  if (unknown.length > 0) {
    throw new Error(`${where} (${key}): fields the schema does not define: ${unknown.join(", ")}`);
  }
}
