import { randomUUID } from "node:crypto";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import { type Db, withTransaction } from "../store/pg-pool.ts";
import type { TaskStore } from "../store/task-store.ts";
import { type StepSpanInfo, traceSpans } from "../telemetry/tracing.ts";
import { newAfterCommit, type PipelineEngine } from "./pipeline-engine.ts";
import { isTerminalRun } from "./run-plan.ts";
import { runSql } from "./run-store.ts";

/** Who calls: an agent (restricted to its own steps) or an operator (no agentId). */
export interface Caller {
  agentId?: string;
}

export interface NewArtifact {
  stepId?: string;
  type: string;
  title: string;
  content: string;
  metadata?: Record<string, unknown>;
}

interface ArtifactRow {
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

interface ConversationRow {
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

const artifactView = (r: ArtifactRow, withContent: boolean) => ({
  id: r.id,
  runId: r.run_id,
  stepId: r.step_id,
  type: r.type,
  title: r.title,
  metadata: r.metadata,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  bytes: Buffer.byteLength(r.content),
  ...(withContent ? { content: r.content } : {}),
});

const conversationView = (r: ConversationRow) => ({
  id: r.id,
  runId: r.run_id,
  stepId: r.step_id,
  title: r.title,
  state: r.state,
  completesStep: r.completes_step,
  summary: r.summary,
  createdAt: r.created_at.toISOString(),
  completedAt: r.completed_at?.toISOString() ?? null,
});

/**
 * What steps produce besides their output: artifacts (documents, results) and conversations
 * (threads of messages inside a run and step). Completing a thread that `completesStep` completes
 * its step (and revokes the step task's lease, so the step completes once).
 */
export class ArtifactService {
  constructor(
    private readonly db: Db,
    private readonly engine: PipelineEngine,
    private readonly taskStore: TaskStore,
    private readonly bus: EventBus,
    private readonly newId: () => string = randomUUID,
  ) {}

  private async stepOf(runId: string, stepId: string | undefined): Promise<void> {
    const run = await runSql.get(this.db, runId);
    if (!run) throw new OverseerError("OVS_ERR_RUN_NOT_FOUND", `no run ${runId}`);
    if (stepId === undefined) return;
    const tpl = await this.engine.template(run);
    if (!tpl.definition.steps.some((s) => s.id === stepId)) {
      throw new OverseerError(
        "OVS_ERR_STEP_NOT_FOUND",
        `template ${run.template}@${run.template_version} has no step ${stepId}`,
      );
    }
  }

  /**
   * Agents act only on themselves: an agent may write to a run only for a step whose current task
   * it holds the lease on. Operators may write anywhere.
   */
  private async checkAgent(caller: Caller, runId: string, stepId: string | undefined): Promise<void> {
    if (!caller.agentId) return;
    if (!stepId) {
      throw new OverseerError("OVS_ERR_FORBIDDEN", "an agent must name the step (stepId) it is working on");
    }
    const r = await this.db.query(
      `SELECT 1 FROM pipeline_steps s JOIN tasks t ON t.id = s.task_id
       WHERE s.run_id = $1 AND s.step_id = $2 AND t.state = 'active' AND t.lease_agent_id = $3`,
      [runId, stepId, caller.agentId],
    );
    if (r.rows.length === 0) {
      throw new OverseerError(
        "OVS_ERR_FORBIDDEN",
        `agent ${caller.agentId} does not hold the lease of step ${stepId} of run ${runId}`,
      );
    }
  }

  async createArtifact(runId: string, a: NewArtifact, actor: string, caller: Caller = {}) {
    await this.stepOf(runId, a.stepId);
    await this.checkAgent(caller, runId, a.stepId);
    const id = this.newId();
    const row = await withTransaction(this.db, async (c) => {
      const r = await c.query<ArtifactRow>(
        `INSERT INTO artifacts (id, run_id, step_id, type, title, content, metadata, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [id, runId, a.stepId ?? null, a.type, a.title, a.content, JSON.stringify(a.metadata ?? {}), actor],
      );
      await runSql.event(c, runId, "artifact.created", a.stepId ?? null, {
        artifactId: id,
        type: a.type,
        title: a.title,
      });
      return r.rows[0] as ArtifactRow;
    });
    this.bus.emit("pipeline.artifact.created", {
      runId,
      artifactId: id,
      stepId: a.stepId ?? null,
      type: a.type,
    });
    return artifactView(row, false);
  }

  async listArtifacts(runId: string) {
    await this.stepOf(runId, undefined);
    const r = await this.db.query<ArtifactRow>(
      "SELECT * FROM artifacts WHERE run_id = $1 ORDER BY created_at, id LIMIT 1000",
      [runId],
    );
    return { artifacts: r.rows.map((row) => artifactView(row, false)) };
  }

  async getArtifact(id: string) {
    const r = await this.db.query<ArtifactRow>("SELECT * FROM artifacts WHERE id = $1", [id]);
    if (!r.rows[0]) throw new OverseerError("OVS_ERR_ARTIFACT_NOT_FOUND", `no artifact ${id}`);
    return artifactView(r.rows[0], true);
  }

  async openConversation(
    runId: string,
    c: { stepId: string; title: string; completesStep?: boolean },
    caller: Caller = {},
  ) {
    await this.stepOf(runId, c.stepId);
    await this.checkAgent(caller, runId, c.stepId);
    const id = this.newId();
    const row = await withTransaction(this.db, async (tx) => {
      const r = await tx.query<ConversationRow>(
        `INSERT INTO conversations (id, run_id, step_id, title, state, completes_step)
         VALUES ($1, $2, $3, $4, 'open', $5) RETURNING *`,
        [id, runId, c.stepId, c.title, c.completesStep ?? false],
      );
      await runSql.event(tx, runId, "conversation.opened", c.stepId, { conversationId: id, title: c.title });
      return r.rows[0] as ConversationRow;
    });
    this.bus.emit("conversation.opened", { runId, conversationId: id, stepId: c.stepId });
    return conversationView(row);
  }

  async listConversations(runId: string) {
    await this.stepOf(runId, undefined);
    const r = await this.db.query<ConversationRow & { messages: number }>(
      `SELECT c.*, (SELECT count(*)::int FROM conversation_messages m WHERE m.conversation_id = c.id) AS messages
       FROM conversations c WHERE run_id = $1 ORDER BY created_at, id`,
      [runId],
    );
    return { conversations: r.rows.map((row) => ({ ...conversationView(row), messages: row.messages })) };
  }

  private async conversation(q: Pick<Db, "query">, id: string, lock = false): Promise<ConversationRow> {
    const r = await q.query<ConversationRow>(
      `SELECT * FROM conversations WHERE id = $1${lock ? " FOR UPDATE" : ""}`,
      [id],
    );
    if (!r.rows[0]) throw new OverseerError("OVS_ERR_CONVERSATION_NOT_FOUND", `no conversation ${id}`);
    return r.rows[0];
  }

  async getConversation(id: string) {
    const conv = await this.conversation(this.db, id);
    const m = await this.db.query<{
      id: string;
      role: string;
      author: string;
      content: string;
      metadata: unknown;
      at: Date;
    }>(
      // The latest 500 (oldest first); `messageCount` says how many there are in all.
      `SELECT * FROM (SELECT * FROM conversation_messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT 500) m
       ORDER BY id`,
      [id],
    );
    const total = await this.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM conversation_messages WHERE conversation_id = $1",
      [id],
    );
    return {
      ...conversationView(conv),
      messageCount: total.rows[0]?.n ?? 0,
      messages: m.rows.map((r) => ({
        id: Number(r.id),
        role: r.role,
        author: r.author,
        content: r.content,
        metadata: r.metadata,
        at: r.at.toISOString(),
      })),
    };
  }

  async addMessage(
    id: string,
    msg: { role: string; content: string; metadata?: Record<string, unknown> },
    actor: string,
    caller: Caller = {},
  ) {
    const found = await this.conversation(this.db, id);
    await this.checkAgent(caller, found.run_id, found.step_id);
    const out = await withTransaction(this.db, async (c) => {
      const conv = await this.conversation(c, id, true);
      if (conv.state !== "open")
        throw new OverseerError("OVS_ERR_CONVERSATION_CLOSED", `conversation ${id} is completed`);
      const r = await c.query<{ id: string; at: Date }>(
        `INSERT INTO conversation_messages (conversation_id, role, author, content, metadata)
         VALUES ($1, $2, $3, $4, $5) RETURNING id, at`,
        [id, msg.role, actor, msg.content, JSON.stringify(msg.metadata ?? {})],
      );
      return { conv, row: r.rows[0] as { id: string; at: Date } };
    });
    this.bus.emit("conversation.message", { runId: out.conv.run_id, conversationId: id, role: msg.role });
    return { id: Number(out.row.id), at: out.row.at.toISOString() };
  }

  /**
   * Completes a thread. If it `completesStep` and that step is still running, the step completes
   * with the thread as its output and the step task's lease is revoked (a late agent complete gets
   * 409), all in the run's transaction.
   */
  async completeConversation(id: string, summary: string | undefined, actor: string, caller: Caller = {}) {
    const found = await this.conversation(this.db, id);
    await this.checkAgent(caller, found.run_id, found.step_id);
    const after = newAfterCommit();
    const conv = await withTransaction(this.db, async (c) => {
      const first = await this.conversation(c, id);
      // Same lock order as every run change: the run row first, then what hangs off it.
      const run = await runSql.lock(c, first.run_id);
      const conv = await this.conversation(c, id, true);
      if (conv.state !== "open")
        throw new OverseerError("OVS_ERR_CONVERSATION_CLOSED", `conversation ${id} is completed`);
      await c.query(
        "UPDATE conversations SET state = 'completed', summary = $2, completed_at = now() WHERE id = $1",
        [id, summary ?? null],
      );
      await runSql.event(c, conv.run_id, "conversation.completed", conv.step_id, {
        conversationId: id,
        actor,
      });
      if (conv.completes_step && run && !isTerminalRun(run.state)) {
        const step = (await runSql.steps(c, conv.run_id)).find((s) => s.step_id === conv.step_id);
        if (step?.state === "running") {
          if (step.task_id) {
            const cancelled = await this.taskStore.cancel(
              c,
              step.task_id,
              "step completed by its conversation",
            );
            if (cancelled) after.cancelled.push(cancelled);
          }
          const messages = await c.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM conversation_messages WHERE conversation_id = $1",
            [id],
          );
          const finishedAt = new Date();
          const durationMs = step.started_at ? finishedAt.getTime() - step.started_at.getTime() : 0;
          await runSql.updateStep(c, conv.run_id, conv.step_id, {
            state: "completed",
            output: { conversationId: id, summary: summary ?? null, messages: messages.rows[0]?.n ?? 0 },
            finished_at: finishedAt,
            duration_ms: Math.min(durationMs, 2_147_483_647),
            progress: 100,
          });
          await runSql.event(c, conv.run_id, "step.completed", conv.step_id, {
            durationMs,
            by: "conversation",
          });
          const base = { runId: conv.run_id, template: run.template, stepId: conv.step_id, durationMs };
          const span: StepSpanInfo = {
            runId: conv.run_id,
            template: run.template,
            stepId: conv.step_id,
            generation: step.generation,
            state: "completed",
            executor: step.task_id ? "agent" : "builtin",
            startedAt: step.started_at,
            finishedAt,
            taskId: step.task_id,
            agentId: step.agent_id,
          };
          after.emit.push(() => {
            traceSpans.stepEnded(span);
            this.bus.emit("pipeline.step.completed", base);
          });
        }
      }
      return conv;
    });
    await this.engine.flush(after);
    this.bus.emit("conversation.completed", { runId: conv.run_id, conversationId: id, stepId: conv.step_id });
    await this.engine.advance(conv.run_id).catch(() => {});
    return this.getConversation(id);
  }
}
