import type { Queryable, Tx } from "./pg-pool.ts";
import { countsOf } from "./purge-batch.ts";

/** `artifacts`, written only here: what a run's steps produce besides their output. */

export interface ArtifactRow {
  id: string;
  run_id: string;
  step_id: string | null;
  type: string;
  title: string;
  content: string;
  metadata: Record<string, unknown>;
  created_by: string;
  created_at: Date;
}

export interface NewArtifactRow {
  id: string;
  runId: string;
  stepId: string | null;
  type: string;
  title: string;
  content: string;
  metadata?: Record<string, unknown>;
  /** The actor: a role, `agent:<id>`, or `daemon` for a built-in step's. */
  createdBy: string;
}

const INSERT = `INSERT INTO artifacts (id, run_id, step_id, type, title, content, metadata, created_by)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;
const values = (a: NewArtifactRow) => [
  a.id,
  a.runId,
  a.stepId,
  a.type,
  a.title,
  a.content,
  JSON.stringify(a.metadata ?? {}),
  a.createdBy,
];

export const artifactStore = {
  async insert(q: Queryable, a: NewArtifactRow): Promise<void> {
    await q.query(INSERT, values(a));
  },

  /** Inserts and answers the stored row (metadata as jsonb gives it back). */
  async insertReturning(q: Queryable, a: NewArtifactRow): Promise<ArtifactRow> {
    const r = await q.query<ArtifactRow>(`${INSERT} RETURNING *`, values(a));
    return r.rows[0] as ArtifactRow;
  },

  async get(q: Queryable, id: string): Promise<ArtifactRow | null> {
    const r = await q.query<ArtifactRow>("SELECT * FROM artifacts WHERE id = $1", [id]);
    return r.rows[0] ?? null;
  },

  /** A run's artifacts (at most `limit`), oldest first. */
  async ofRun(q: Queryable, runId: string, limit = 1000): Promise<ArtifactRow[]> {
    const r = await q.query<ArtifactRow>(
      "SELECT * FROM artifacts WHERE run_id = $1 ORDER BY created_at, id LIMIT $2",
      [runId, limit],
    );
    return r.rows;
  },

  /** Every artifact of a run without content, oldest first. */
  async headingsOfRun(
    q: Queryable,
    runId: string,
  ): Promise<Array<Pick<ArtifactRow, "id" | "step_id" | "type" | "title" | "created_at">>> {
    const r = await q.query<Pick<ArtifactRow, "id" | "step_id" | "type" | "title" | "created_at">>(
      "SELECT id, step_id, type, title, created_at FROM artifacts WHERE run_id = $1 ORDER BY created_at, id",
      [runId],
    );
    return r.rows;
  },

  /** Retention: the artifacts of runs being deleted. */
  async deleteOfRuns(tx: Tx, runIds: string[]): Promise<Record<string, number>> {
    const r = await tx.query<Record<string, number>>(
      `WITH d AS (DELETE FROM artifacts WHERE run_id = ANY($1::uuid[]) RETURNING 1) ${countsOf({ d: "artifacts" })}`,
      [runIds],
    );
    return r.rows[0] ?? {};
  },
};
