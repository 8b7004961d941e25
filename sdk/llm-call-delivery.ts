import type { AgentOptions } from "./agent-types.ts";
import type { Deadline } from "./deadline.ts";
import type { HttpClient } from "./http-client.ts";
import { CallRecorder } from "./llm/call-recorder.ts";
import type { LlmClient } from "./llm/llm-client.ts";
import { taskLlm } from "./llm/task-llm.ts";
import { type Clock, type Logger, sleep } from "./runtime.ts";
import type { TaskRunDeps } from "./task-run.ts";

export interface LlmCallDeliveryDeps {
  client: LlmClient;
  /** Include prompts and response texts in the records. */
  recordContent: boolean;
  recording: AgentOptions["llmRecording"];
  http: HttpClient;
  /** The agent's current token; undefined while unregistered, which pauses sending. */
  token: () => string | undefined;
  logger: Logger;
  clock: Clock;
}

/** How long a task's report waits for its LLM call records to reach the daemon. */
const REPORT_FLUSH_MS = 2_000;
// stop() sends the buffered LLM call records for at least this long, even when the grace time is used up...
const MIN_LLM_FLUSH_MS = 1_000;
// ...and at most this long, even under an unbounded grace time (a drain command).
const MAX_LLM_FLUSH_MS = 30_000;

/**
 * The agent's LLM side: gives each task its `ctx.llm`, records the calls, and gets the records to
 * the daemon before a task's report and before the agent deregisters.
 */
export class LlmCallDelivery {
  /** Records of the calls handlers made through `ctx.llm`. */
  readonly recorder: CallRecorder;
  private readonly deps: LlmCallDeliveryDeps;

  constructor(deps: LlmCallDeliveryDeps) {
    this.deps = deps;
    this.recorder = new CallRecorder({
      ...deps.recording,
      http: deps.http,
      token: deps.token,
      logger: deps.logger,
      clock: deps.clock,
    });
  }

  /** Builds `ctx.llm` for the tasks leased to registration `agentId`. */
  forTasksOf(agentId: string): NonNullable<TaskRunDeps["llm"]> {
    const { client, clock, recordContent } = this.deps;
    const recorder = this.recorder;
    return ({ taskId, payload, signal }) =>
      taskLlm({ client, recorder, clock, taskId, agentId, payload, signal, recordContent });
  }

  /** Starts sending records in the background. */
  start(): void {
    this.recorder.start();
  }

  /** Stops the background sending (records still buffered stay so). */
  stop(): void {
    this.recorder.stop();
  }

  /**
   * Sends buffered call records before a task's report. Bounded as a whole: flush() may first wait
   * behind a background send that is itself retrying a hung daemon, and a report must not wait for
   * that (its lease keeps running).
   */
  async beforeReport(): Promise<void> {
    const recorder = this.recorder;
    if (recorder.stats().buffered === 0) return;
    const stop = new AbortController();
    const delivered = await Promise.race([
      recorder.flush({ timeoutMs: REPORT_FLUSH_MS }),
      sleep(this.deps.clock, REPORT_FLUSH_MS, stop.signal).then(() => false),
    ]);
    stop.abort();
    if (!delivered) {
      this.deps.logger.debug(
        recorder.stats(),
        "LLM call records not yet delivered; reporting the task anyway",
      );
    }
  }

  /** Stops, then sends the buffered records while the token is still valid, bounded by the grace time. */
  async flushOnStop(grace: Deadline): Promise<void> {
    const recorder = this.recorder;
    recorder.stop();
    const timeoutMs = Math.min(MAX_LLM_FLUSH_MS, Math.max(MIN_LLM_FLUSH_MS, grace.remaining()));
    if (!(await recorder.flush({ timeoutMs }))) {
      this.deps.logger.warn({ ...recorder.stats(), timeoutMs }, "stopping with undelivered LLM call records");
    }
  }
}
