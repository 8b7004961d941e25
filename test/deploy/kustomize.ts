import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { parse, parseAllDocuments } from "yaml";

/**
 * A small emulation of `kustomize build` (kubectl kustomize), for the test only: there is no
 * kubectl or kustomize binary where the tests run. It does the kustomize features the overlays in
 * deploy/kubernetes use and nothing else, and it refuses a kustomization with any other field
 * rather than render it wrongly. What it does not do: the content-hash suffix of generated
 * Secrets (and the renaming of references to them), and any ordering of the output.
 * `kubectl kustomize deploy/kubernetes/overlays/production` is the real render.
 */

/** A Kubernetes object as parsed from YAML. */
// biome-ignore lint/suspicious/noExplicitAny: manifests are read field by field, after schema validation.
export type K8sObject = Record<string, any> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

/** An object with the file it came from (for messages). */
export interface Rendered {
  object: K8sObject;
  source: string;
}

const EMULATED = new Set([
  "apiVersion",
  "kind",
  "resources",
  "namespace",
  "images",
  "secretGenerator",
  "patches",
]);

interface Kustomization {
  resources?: string[];
  namespace?: string;
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  secretGenerator?: Array<{ name: string; envs?: string[]; literals?: string[]; type?: string }>;
  patches?: Array<{ target?: { kind?: string; name?: string }; patch?: string; path?: string }>;
}

export interface RenderOptions {
  /**
   * Read `<file>.example` when a secretGenerator's env file is absent (it is git-ignored: the
   * operator creates it from the example). The rendered Secret then has the example's keys.
   */
  envExampleFallback?: boolean;
}

/** The YAML documents of a file, without empty ones (a trailing `---`). */
export function yamlDocuments(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** A kustomization.yaml, with every field checked to be one this emulation does. */
export function readKustomization(dir: string): Kustomization {
  const file = join(dir, "kustomization.yaml");
  const k = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const other = Object.keys(k).filter((key) => !EMULATED.has(key));
  if (other.length > 0)
    throw new Error(`${file}: ${other.join(", ")} not emulated by test/deploy/kustomize.ts`);
  if (k.apiVersion !== "kustomize.config.k8s.io/v1beta1" || k.kind !== "Kustomization") {
    throw new Error(`${file}: not a kustomize.config.k8s.io/v1beta1 Kustomization`);
  }
  return k as Kustomization;
}

/** `kustomize build dir`, as far as emulated (see above). */
export function kustomizeBuild(dir: string, options: RenderOptions = {}): Rendered[] {
  const k = readKustomization(dir);
  const out: Rendered[] = [];
  for (const resource of k.resources ?? []) {
    const path = join(dir, resource);
    if (!existsSync(path)) throw new Error(`${dir}/kustomization.yaml: resource ${resource} does not exist`);
    if (statSync(path).isDirectory()) out.push(...kustomizeBuild(path, options));
    else for (const object of yamlDocuments(path)) out.push({ object, source: path });
  }
  for (const gen of k.secretGenerator ?? []) out.push({ object: secretFrom(dir, gen, options), source: dir });
  for (const p of k.patches ?? []) applyPatch(dir, p, out);
  for (const image of k.images ?? []) for (const r of out) setImage(r.object, image);
  if (k.namespace) for (const r of out) r.object.metadata.namespace = k.namespace;
  return out;
}

function secretFrom(
  dir: string,
  gen: NonNullable<Kustomization["secretGenerator"]>[number],
  options: RenderOptions,
) {
  const data: Record<string, string> = {};
  const put = (line: string, where: string) => {
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`${where}: ${JSON.stringify(line)} is not KEY=VALUE`);
    data[line.slice(0, eq)] = Buffer.from(line.slice(eq + 1)).toString("base64");
  };
  for (const env of gen.envs ?? []) {
    let file = join(dir, env);
    if (!existsSync(file) && options.envExampleFallback && existsSync(`${file}.example`))
      file = `${file}.example`;
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const text = line.trim();
      if (text && !text.startsWith("#")) put(text, file);
    }
  }
  for (const literal of gen.literals ?? []) put(literal, `${dir}/kustomization.yaml`);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: gen.name },
    type: gen.type ?? "Opaque",
    data,
  } as K8sObject;
}

/** Inline JSON 6902 patches (op/path/value), the form the overlays use; ops add, replace, remove, test. */
function applyPatch(dir: string, p: NonNullable<Kustomization["patches"]>[number], out: Rendered[]): void {
  const where = `${dir}/kustomization.yaml`;
  if (p.path || !p.patch || !p.target)
    throw new Error(`${where}: only inline JSON 6902 patches with a target are emulated`);
  const ops = parse(p.patch) as Array<{ op: string; path: string; value?: unknown }>;
  if (!Array.isArray(ops))
    throw new Error(`${where}: only JSON 6902 patches (a list of operations) are emulated`);
  const targets = out.filter(
    (r) =>
      (!p.target?.kind || r.object.kind === p.target.kind) &&
      (!p.target?.name || r.object.metadata.name === p.target.name),
  );
  if (targets.length === 0)
    throw new Error(`${where}: patch target ${JSON.stringify(p.target)} matches nothing`);
  for (const t of targets)
    for (const op of ops) applyOperation(t.object, op, `${where} on ${relative(dirname(dir), t.source)}`);
}

function applyOperation(
  object: K8sObject,
  op: { op: string; path: string; value?: unknown },
  where: string,
): void {
  const segments = op.path
    .split("/")
    .slice(1)
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  const last = segments.pop() as string;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON pointer walks objects and arrays alike.
  let parent: any = object;
  for (const s of segments) {
    parent = parent?.[Array.isArray(parent) ? Number(s) : s];
    if (parent === undefined || parent === null)
      throw new Error(`${where}: ${op.op} ${op.path}: no such path`);
  }
  const key = Array.isArray(parent) ? (last === "-" ? parent.length : Number(last)) : last;
  const exists = Array.isArray(parent) ? (key as number) < parent.length : last in parent;
  switch (op.op) {
    case "test":
      if (JSON.stringify(parent[key]) !== JSON.stringify(op.value)) {
        throw new Error(
          `${where}: test ${op.path} failed: ${JSON.stringify(parent[key])} is not ${JSON.stringify(op.value)}`,
        );
      }
      return;
    case "replace":
      if (!exists) throw new Error(`${where}: replace ${op.path}: no such path`);
      parent[key] = structuredClone(op.value);
      return;
    case "add":
      if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(op.value));
      else parent[key] = structuredClone(op.value);
      return;
    case "remove":
      if (!exists) throw new Error(`${where}: remove ${op.path}: no such path`);
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      return;
    default:
      throw new Error(`${where}: op ${op.op} not emulated`);
  }
}

/** The `images:` transformer: containers whose image name (without tag) matches get the new name/tag. */
function setImage(object: K8sObject, image: NonNullable<Kustomization["images"]>[number]): void {
  const spec = object.spec?.template?.spec;
  if (!spec) return;
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    const [name, tag] = splitImage(c.image);
    if (name !== image.name) continue;
    c.image = `${image.newName ?? name}${image.newTag ? `:${image.newTag}` : tag ? `:${tag}` : ""}`;
  }
}

/** `registry:5000/a/b:tag` → [`registry:5000/a/b`, `tag`]. */
export function splitImage(image: string): [string, string | undefined] {
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  return colon > slash ? [image.slice(0, colon), image.slice(colon + 1)] : [image, undefined];
}
