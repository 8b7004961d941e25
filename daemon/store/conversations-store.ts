import type { Queryable, Tx } from "./pg-pool.ts";
import { countsOf } from "./purge-batch.ts";

/** `conversations` and their `conversation_messages`, written only here: threads inside a run's step. */

export interface ConversationRow {
  id: string;
  run_id: string;
  step_id: string;
  title: string;
  state: "open" | "completed";
  completes_step: boolean;
  summary: string | null;
  created_at: Date;
  completed_at: Date | null;
}

export interface MessageRow {
  id: string;
  conversation_id: string;
  role: string;
  author: string;
  content: string;
  metadata: Record<string, unknown>;
  at: Date;
}

export const conversationStore = {
  async insert(
    q: Queryable,
    c: { id: string; runId: string; stepId: string; title: string; completesStep: boolean },
  ): Promise<ConversationRow> {
    const r = await q.query<ConversationRow>(
      `INSERT INTO conversations (id, run_id, step_id, title, state, completes_step)
       VALUES ($1, $2, $3, $4, 'open', $5) RETURNING *`,
      [c.id, c.runId, c.stepId, c.title, c.completesStep],
    );
    return r.rows[0] as ConversationRow;
  },

  async get(q: Queryable, id: string): Promise<ConversationRow | null> {
    const r = await q.query<ConversationRow>("SELECT * FROM conversations WHERE id = $1", [id]);
    return r.rows[0] ?? null;
  },

  /** The conversation, locked for the rest of the transaction (after its run's row: the lock order). */
  async lock(tx: Tx, id: string): Promise<ConversationRow | null> {
    const r = await tx.query<ConversationRow>("SELECT * FROM conversations WHERE id = $1 FOR UPDATE", [id]);
    return r.rows[0] ?? null;
  },

  /** A run's conversations, oldest first, each with how many messages it has. */
  async ofRun(q: Queryable, runId: string): Promise<Array<ConversationRow & { messages: number }>> {
    const r = await q.query<ConversationRow & { messages: number }>(
      `SELECT c.*, (SELECT count(*)::int FROM conversation_messages m WHERE m.conversation_id = c.id) AS messages
       FROM conversations c WHERE run_id = $1 ORDER BY created_at, id`,
      [runId],
    );
    return r.rows;
  },

  /** A run's conversations without their messages, oldest first. */
  async headingsOfRun(
    q: Queryable,
    runId: string,
  ): Promise<Array<Pick<ConversationRow, "id" | "step_id" | "title" | "state">>> {
    const r = await q.query<Pick<ConversationRow, "id" | "step_id" | "title" | "state">>(
      "SELECT id, step_id, title, state FROM conversations WHERE run_id = $1 ORDER BY created_at, id",
      [runId],
    );
    return r.rows;
  },

  async complete(tx: Tx, id: string, summary: string | null): Promise<void> {
    await tx.query(
      "UPDATE conversations SET state = 'completed', summary = $2, completed_at = now() WHERE id = $1",
      [id, summary],
    );
  },

  async addMessage(
    q: Queryable,
    m: { conversationId: string; role: string; author: string; content: string; metadata?: object },
  ): Promise<{ id: string; at: Date }> {
    const r = await q.query<{ id: string; at: Date }>(
      `INSERT INTO conversation_messages (conversation_id, role, author, content, metadata)
       VALUES ($1, $2, $3, $4, $5) RETURNING id, at`,
      [m.conversationId, m.role, m.author, m.content, JSON.stringify(m.metadata ?? {})],
    );
    return r.rows[0] as { id: string; at: Date };
  },

  /** The latest `limit` messages, oldest first. */
  async latestMessages(q: Queryable, conversationId: string, limit = 500): Promise<MessageRow[]> {
    const r = await q.query<MessageRow>(
      `SELECT * FROM (SELECT * FROM conversation_messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT $2) m
       ORDER BY id`,
      [conversationId, limit],
    );
    return r.rows;
  },

  async messageCount(q: Queryable, conversationId: string): Promise<number> {
    const r = await q.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM conversation_messages WHERE conversation_id = $1",
      [conversationId],
    );
    return r.rows[0]?.n ?? 0;
  },

  /** Retention: the conversations of runs being deleted, with their messages. */
  async deleteOfRuns(tx: Tx, runIds: string[]): Promise<Record<string, number>> {
    const r = await tx.query<Record<string, number>>(
      `WITH d_messages AS (DELETE FROM conversation_messages WHERE conversation_id IN
         (SELECT id FROM conversations WHERE run_id = ANY($1::uuid[])) RETURNING 1),
       d_conversations AS (DELETE FROM conversations WHERE run_id = ANY($1::uuid[]) RETURNING 1)
       ${countsOf({ d_conversations: "conversations", d_messages: "conversation_messages" })}`,
      [runIds],
    );
    return r.rows[0] ?? {};
  },
};
