import { randomUUID } from "node:crypto";
import type { Static } from "typebox";
import type {
  ArtifactList,
  ArtifactView,
  ArtifactWithContent,
  ConversationList,
  ConversationView,
  ConversationWithMessages,
  MessageAdded,
} from "../../contract/schemas/artifacts.ts";
import { OverseerError } from "../errors/overseer-error.ts";
import type { EventBus } from "../events/event-bus.ts";
import { type ArtifactRow, artifactStore } from "../store/artifacts-store.ts";
import { type ConversationRow, conversationStore } from "../store/conversations-store.ts";
import { type Db, type Queryable, type Tx, withTransaction } from "../store/pg-pool.ts";
import { pipelineEvents, pipelineRuns, pipelineSteps } from "../store/pipeline-run-store.ts";
import type { TaskStore } from "../store/task-store.ts";
import { type StepSpanInfo, traceSpans } from "../telemetry/tracing.ts";
import { newAfterCommit } from "./after-commit.ts";
import type { PipelineEngine } from "./pipeline-engine.ts";
import { isTerminalRun } from "./run-plan.ts";

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

function artifactView(r: ArtifactRow): Static<typeof ArtifactView> {
  return {
    id: r.id,
    runId: r.run_id,
    stepId: r.step_id,
    type: r.type,
    title: r.title,
    metadata: r.metadata,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    bytes: Buffer.byteLength(r.content),
  };
}

const conversationView = (r: ConversationRow): Static<typeof ConversationView> => ({
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

const closed = (id: string) =>
  new OverseerError("OVS_ERR_CONVERSATION_CLOSED", `conversation ${id} is completed`);

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
    const run = await pipelineRuns.get(this.db, runId);
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
    if (!(await pipelineSteps.leaseHeldBy(this.db, runId, stepId, caller.agentId))) {
      throw new OverseerError(
        "OVS_ERR_FORBIDDEN",
        `agent ${caller.agentId} does not hold the lease of step ${stepId} of run ${runId}`,
      );
    }
  }

  async createArtifact(
    runId: string,
    a: NewArtifact,
    actor: string,
    caller: Caller = {},
  ): Promise<Static<typeof ArtifactView>> {
    await this.stepOf(runId, a.stepId);
    await this.checkAgent(caller, runId, a.stepId);
    const id = this.newId();
    const row = await withTransaction(this.db, async (tx) => {
      const row = await artifactStore.insertReturning(tx, {
        id,
        runId,
        stepId: a.stepId ?? null,
        type: a.type,
        title: a.title,
        content: a.content,
        metadata: a.metadata ?? {},
        createdBy: actor,
      });
      await pipelineEvents.append(tx, runId, "artifact.created", a.stepId ?? null, {
        artifactId: id,
        type: a.type,
        title: a.title,
      });
      return row;
    });
    this.bus.emit("pipeline.artifact.created", {
      runId,
      artifactId: id,
      stepId: a.stepId ?? null,
      type: a.type,
    });
    return artifactView(row);
  }

  async listArtifacts(runId: string): Promise<Static<typeof ArtifactList>> {
    await this.stepOf(runId, undefined);
    const rows = await artifactStore.ofRun(this.db, runId, 1000);
    return { artifacts: rows.map(artifactView) };
  }

  async getArtifact(id: string): Promise<Static<typeof ArtifactWithContent>> {
    const row = await artifactStore.get(this.db, id);
    if (!row) throw new OverseerError("OVS_ERR_ARTIFACT_NOT_FOUND", `no artifact ${id}`);
    return { ...artifactView(row), content: row.content };
  }

  async openConversation(
    runId: string,
    c: { stepId: string; title: string; completesStep?: boolean },
    caller: Caller = {},
  ): Promise<Static<typeof ConversationView>> {
    await this.stepOf(runId, c.stepId);
    await this.checkAgent(caller, runId, c.stepId);
    const id = this.newId();
    const row = await withTransaction(this.db, async (tx) => {
      const row = await conversationStore.insert(tx, {
        id,
        runId,
        stepId: c.stepId,
        title: c.title,
        completesStep: c.completesStep ?? false,
      });
      await pipelineEvents.append(tx, runId, "conversation.opened", c.stepId, {
        conversationId: id,
        title: c.title,
      });
      return row;
    });
    this.bus.emit("conversation.opened", { runId, conversationId: id, stepId: c.stepId });
    return conversationView(row);
  }

  async listConversations(runId: string): Promise<Static<typeof ConversationList>> {
    await this.stepOf(runId, undefined);
    const rows = await conversationStore.ofRun(this.db, runId);
    return { conversations: rows.map((row) => ({ ...conversationView(row), messages: row.messages })) };
  }

  private async conversation(q: Queryable, id: string): Promise<ConversationRow> {
    const row = await conversationStore.get(q, id);
    if (!row) throw new OverseerError("OVS_ERR_CONVERSATION_NOT_FOUND", `no conversation ${id}`);
    return row;
  }

  private async lockConversation(tx: Tx, id: string): Promise<ConversationRow> {
    const row = await conversationStore.lock(tx, id);
    if (!row) throw new OverseerError("OVS_ERR_CONVERSATION_NOT_FOUND", `no conversation ${id}`);
    return row;
  }

  /** A conversation with its latest 500 messages (oldest first); `messageCount` counts them all. */
  async getConversation(id: string): Promise<Static<typeof ConversationWithMessages>> {
    const conv = await this.conversation(this.db, id);
    const messages = await conversationStore.latestMessages(this.db, id, 500);
    const messageCount = await conversationStore.messageCount(this.db, id);
    return {
      ...conversationView(conv),
      messageCount,
      messages: messages.map((r) => ({
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
  ): Promise<Static<typeof MessageAdded>> {
    const found = await this.conversation(this.db, id);
    await this.checkAgent(caller, found.run_id, found.step_id);
    const out = await withTransaction(this.db, async (tx) => {
      const conv = await this.lockConversation(tx, id);
      if (conv.state !== "open") throw closed(id);
      const row = await conversationStore.addMessage(tx, {
        conversationId: id,
        role: msg.role,
        author: actor,
        content: msg.content,
        metadata: msg.metadata ?? {},
      });
      return { conv, row };
    });
    this.bus.emit("conversation.message", { runId: out.conv.run_id, conversationId: id, role: msg.role });
    return { id: Number(out.row.id), at: out.row.at.toISOString() };
  }

  /**
   * Completes a thread. If it `completesStep` and that step is still running, the step completes
   * with the thread as its output and the step task's lease is revoked (a late agent complete gets
   * 409), all in the run's transaction.
   */
  async completeConversation(
    id: string,
    summary: string | undefined,
    actor: string,
    caller: Caller = {},
  ): Promise<Static<typeof ConversationWithMessages>> {
    const found = await this.conversation(this.db, id);
    await this.checkAgent(caller, found.run_id, found.step_id);
    const after = newAfterCommit();
    const conv = await withTransaction(this.db, async (tx) => {
      const first = await this.conversation(tx, id);
      // Same lock order as every run change: the run row first, then what hangs off it.
      const run = await pipelineRuns.lock(tx, first.run_id);
      const conv = await this.lockConversation(tx, id);
      if (conv.state !== "open") throw closed(id);
      await conversationStore.complete(tx, id, summary ?? null);
      await pipelineEvents.append(tx, conv.run_id, "conversation.completed", conv.step_id, {
        conversationId: id,
        actor,
      });
      if (conv.completes_step && run && !isTerminalRun(run.state)) {
        const step = (await pipelineSteps.ofRun(tx, conv.run_id)).find((s) => s.step_id === conv.step_id);
        if (step?.state === "running") {
          if (step.task_id) {
            const cancelled = await this.taskStore.cancel(
              tx,
              step.task_id,
              "step completed by its conversation",
            );
            if (cancelled) after.cancelled.push(cancelled);
          }
          const messages = await conversationStore.messageCount(tx, id);
          const finishedAt = new Date();
          const durationMs = step.started_at ? finishedAt.getTime() - step.started_at.getTime() : 0;
          await pipelineSteps.update(tx, conv.run_id, conv.step_id, {
            state: "completed",
            output: { conversationId: id, summary: summary ?? null, messages },
            finished_at: finishedAt,
            duration_ms: Math.min(durationMs, 2_147_483_647),
            progress: 100,
          });
          await pipelineEvents.append(tx, conv.run_id, "step.completed", conv.step_id, {
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
