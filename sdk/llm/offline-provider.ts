// Deterministic stand-in for a model: no network, same messages in, same text out. Used when no
// provider is configured (demos, tests, CI) and as the fallback when the real one is down.

import { createHash } from "node:crypto";
import type { LlmMessage } from "./llm-types.ts";
import type { LlmProvider, ProviderAnswer, ProviderCall } from "./provider.ts";
import { countMessageTokens, countTokens } from "./token-counter.ts";

/** The model name offline answers report. */
export const OFFLINE_MODEL = "offline";

const QUOTE_CHARS = 80;

/** The offline answer to `messages`: names the last user message and a digest of the whole chat. */
export function offlineReply(messages: readonly LlmMessage[]): string {
  const digest = createHash("sha256")
    .update(JSON.stringify(messages.map((m) => [m.role, m.content])))
    .digest("hex")
    .slice(0, 12);
  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  const quoted =
    lastUser === undefined
      ? "no user message"
      : `last user message: "${truncate(lastUser.content.replace(/\s+/g, " ").trim())}"`;
  const n = messages.length;
  return `[offline simulated reply: no model was called] ${n} message${n === 1 ? "" : "s"}, ${quoted}, digest ${digest}.`;
}

function truncate(text: string): string {
  const chars = [...text];
  return chars.length <= QUOTE_CHARS ? text : `${chars.slice(0, QUOTE_CHARS - 1).join("")}…`;
}

export class OfflineProvider implements LlmProvider {
  readonly name = "offline";

  async complete(call: ProviderCall): Promise<ProviderAnswer> {
    const text = offlineReply(call.request.messages);
    return {
      text,
      model: OFFLINE_MODEL,
      usage: {
        inputTokens: countMessageTokens(call.request.messages),
        outputTokens: countTokens(text),
        counted: true,
      },
      // The whole answer is one chunk, so it arrives as soon as it exists.
      timeToFirstTokenMs: call.request.stream === true ? call.now() - call.startedAt : null,
    };
  }
}
