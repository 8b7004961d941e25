import pg from "pg";

// The bare Postgres queue of the SKIP LOCKED peer, all of its SQL in one place: the submitter
// (throughput-skiplocked.ts) and the worker child (bench/load/skiplocked-worker.ts) both read it.
// Every connection works inside the peer's schema (searchPath), so the statements name no schema.

/** Connection options that put a connection inside the schema. */
export const searchPath = (schema: string) => `-c search_path=${pg.escapeIdentifier(schema)}`;

/** The channel idle workers LISTEN on: the schema's own name, so two runs never wake each other. */
export const channel = (schema: string) => schema;

/** The schema: one table, a partial index for the fetch, a trigger that wakes idle workers. */
export function schemaDdl(schema: string): string {
  const s = pg.escapeIdentifier(schema);
  return `
CREATE SCHEMA ${s};
CREATE TABLE ${s}.jobs (
  id bigserial PRIMARY KEY,
  queue text NOT NULL,
  payload jsonb NOT NULL,
  locked_at timestamptz
);
-- The fetch reads one queue's unlocked jobs in id order. The index holds exactly those, and a job
-- leaves it as it is locked, so a fetch never steps over jobs that others took.
CREATE INDEX jobs_fetch ON ${s}.jobs (queue, id) WHERE locked_at IS NULL;
-- Statement level: one notification per INSERT, so a bulk insert of 1,000 wakes workers once.
CREATE FUNCTION ${s}.jobs_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(${pg.escapeLiteral(channel(schema))}, '');
  RETURN NULL;
END $$;
CREATE TRIGGER jobs_inserted AFTER INSERT ON ${s}.jobs
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.jobs_inserted();`;
}

/** One job, autocommitted: $1 queue, $2 payload. */
export const INSERT_JOB = "INSERT INTO jobs (queue, payload) VALUES ($1, $2)";

/** Many jobs in one statement: $1 queue, $2 the payloads as a jsonb[] (JSON texts). */
export const INSERT_JOBS = "INSERT INTO jobs (queue, payload) SELECT $1, p FROM unnest($2::jsonb[]) AS p";

/** Takes up to $2 jobs of queue $1 that nobody holds, oldest first, in one statement. */
export const FETCH_JOBS = `UPDATE jobs SET locked_at = now()
  WHERE id IN (
    SELECT id FROM jobs WHERE queue = $1 AND locked_at IS NULL
    ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
  )
  RETURNING id, payload`;

/** Completes one job: a plain queue deletes it. */
export const DELETE_JOB = "DELETE FROM jobs WHERE id = $1";

/** Drops every job but those of queue $1 (warm-up and bulk jobs nobody consumes). */
export const DELETE_OTHER_QUEUES = "DELETE FROM jobs WHERE queue <> $1";

/** What is left, by queue. */
export const JOBS_BY_QUEUE = "SELECT queue, count(*)::int AS n FROM jobs GROUP BY queue ORDER BY queue";
