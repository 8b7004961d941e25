import type { StoredTemplate, TemplateDefinition } from "../pipelines/template-types.ts";
import type { Db, Queryable } from "./pg-pool.ts";

interface TemplateRow {
  name: string;
  version: number;
  definition: TemplateDefinition;
  source: StoredTemplate["source"];
  created_at: Date;
}

const toStored = (r: TemplateRow): StoredTemplate => ({
  name: r.name,
  version: r.version,
  definition: r.definition,
  source: r.source,
  createdAt: r.created_at.toISOString(),
});

/** JSON with object keys sorted: jsonb does not keep key order, so a stored definition reads back reordered. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

/**
 * `pipeline_templates`: versioned templates, written only here. Versions are immutable, so they are
 * cached forever.
 */
export class PipelineTemplateStore {
  private readonly cache = new Map<string, StoredTemplate>();
  private readonly latestSeen = new Map<string, { template: StoredTemplate; at: number }>();

  constructor(private readonly db: Db) {}

  /**
   * Stores a definition as the template's next version, unless it equals the latest version (then
   * that one is returned, `created: false`). Replicas racing on one name retry on the primary key.
   */
  async save(
    def: TemplateDefinition,
    source: StoredTemplate["source"],
  ): Promise<{ template: StoredTemplate; created: boolean }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const latest = await this.latest(def.name);
      if (latest && canonicalJson(latest.definition) === canonicalJson(def)) {
        return { template: latest, created: false };
      }
      const inserted = await this.db.query<TemplateRow>(
        `INSERT INTO pipeline_templates (name, version, definition, source) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name, version) DO NOTHING RETURNING *`,
        [def.name, (latest?.version ?? 0) + 1, JSON.stringify(def), source],
      );
      if (inserted.rows[0]) {
        const template = this.remember(toStored(inserted.rows[0]));
        this.latestSeen.set(template.name, { template, at: Date.now() });
        return { template, created: true };
      }
    }
    throw new Error(`could not store template ${def.name}: concurrent updates kept winning`);
  }

  async latest(name: string, q: Queryable = this.db): Promise<StoredTemplate | null> {
    const r = await q.query<TemplateRow>(
      "SELECT * FROM pipeline_templates WHERE name = $1 ORDER BY version DESC LIMIT 1",
      [name],
    );
    return r.rows[0] ? this.remember(toStored(r.rows[0])) : null;
  }

  /**
   * The latest version as read at most `maxAgeMs` ago (execute's hot path). A version saved on this
   * replica is seen at once; one saved on another replica within `maxAgeMs`.
   */
  async latestWithin(name: string, maxAgeMs: number, now = Date.now()): Promise<StoredTemplate | null> {
    const seen = this.latestSeen.get(name);
    if (seen && now - seen.at <= maxAgeMs) return seen.template;
    const t = await this.latest(name);
    if (t) this.latestSeen.set(name, { template: t, at: now });
    return t;
  }

  async version(name: string, version: number): Promise<StoredTemplate | null> {
    const hit = this.cache.get(`${name}@${version}`);
    if (hit) return hit;
    const r = await this.db.query<TemplateRow>(
      "SELECT * FROM pipeline_templates WHERE name = $1 AND version = $2",
      [name, version],
    );
    return r.rows[0] ? this.remember(toStored(r.rows[0])) : null;
  }

  /** The latest version of every template, with how many versions each has. */
  async list(): Promise<Array<StoredTemplate & { versions: number }>> {
    const r = await this.db.query<TemplateRow & { versions: number }>(
      `SELECT DISTINCT ON (name) *, count(*) OVER (PARTITION BY name)::int AS versions
       FROM pipeline_templates ORDER BY name, version DESC`,
    );
    return r.rows.map((row) => ({ ...toStored(row), versions: row.versions }));
  }

  /** Agent capabilities any stored template uses (to tell pipeline tasks from plain ones cheaply). */
  async capabilities(): Promise<Set<string>> {
    const r = await this.db.query<{ capability: string }>(
      `SELECT DISTINCT s->'executor'->>'capability' AS capability
       FROM pipeline_templates, jsonb_array_elements(definition->'steps') s
       WHERE s->'executor'->>'kind' = 'agent'`,
    );
    return new Set(r.rows.map((row) => row.capability));
  }

  private remember(t: StoredTemplate): StoredTemplate {
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(`${t.name}@${t.version}`, t);
    return t;
  }
}
