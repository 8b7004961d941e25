// Token estimates for when a provider reports no usage.
//
// The approximation is the common rule of thumb for English text with BPE tokenizers (GPT, Llama):
// about 4 characters per token. It is not a tokenizer: code, non-Latin scripts and very short strings
// can be off by 2x either way. Results built from it say so with `usage.counted: true`.

import type { LlmMessage } from "./llm-types.ts";

/** Characters per token assumed by the estimate. */
export const CHARS_PER_TOKEN = 4;
/** Tokens added per message for the role and chat-template framing. */
export const TOKENS_PER_MESSAGE = 4;

/** Estimated tokens in `text`: ceil(characters / 4), counting Unicode code points; 0 for "". */
export function countTokens(text: string): number {
  let chars = 0;
  for (const _ of text) chars++;
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/** Estimated prompt tokens of a chat: each message's content plus 4 tokens of framing. */
export function countMessageTokens(messages: readonly LlmMessage[]): number {
  let total = 0;
  for (const m of messages) total += countTokens(m.content) + TOKENS_PER_MESSAGE;
  return total;
}
