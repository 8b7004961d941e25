// Fake OpenAI-compatible and Ollama servers on 127.0.0.1, for tests that drive the LLM client
// through the real fetch path. Call `closeFakeServers` from `afterEach`.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { pause } from "./helpers.ts";

export interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void | Promise<void>;

export interface FakeServer {
  url: string;
  hits: Hit[];
}

const servers: Array<() => Promise<void>> = [];

/** Closes every server `serve` started. */
export async function closeFakeServers(): Promise<void> {
  for (const close of servers.splice(0)) await close();
}

/** A server whose `n`-th request (1-based) is answered by `handlers[n - 1]`, the last one repeating. */
export async function serve(...handlers: Handler[]): Promise<FakeServer> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk: Buffer) => {
      raw += chunk.toString();
    });
    req.on("end", () => {
      hits.push({ path: req.url ?? "", headers: req.headers, body: raw === "" ? {} : JSON.parse(raw) });
      const handler = handlers[Math.min(hits.length, handlers.length) - 1]!;
      void Promise.resolve(handler(req, res, hits.length)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  servers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${port}`, hits };
}

export const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };

/** Writes `lines` one by one: the first after `firstDelayMs`, the others `gapMs` apart; stalls before line `stallAt`. */
export function lines(
  contentType: string,
  body: string[],
  opts: { firstDelayMs?: number; gapMs?: number; stallAt?: number } = {},
): Handler {
  return async (_req, res) => {
    res.writeHead(200, { "content-type": contentType, "cache-control": "no-cache" });
    res.flushHeaders();
    for (const [i, line] of body.entries()) {
      if (i === opts.stallAt) return; // never ends the response
      const delay = i === 0 ? opts.firstDelayMs : opts.gapMs;
      if (delay) await pause(delay);
      if (res.destroyed) return;
      res.write(line);
    }
    res.end();
  };
}

export const openaiCompletion = (
  text: string,
  usage?: { prompt_tokens: number; completion_tokens: number },
) => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  model: "gpt-test-0613",
  choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
  ...(usage ? { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } } : {}),
});

/** SSE lines as OpenAI sends them: a role-only chunk, content chunks, a finish chunk, a usage chunk, [DONE]. */
export function openaiSse(
  pieces: string[],
  usage?: { prompt_tokens: number; completion_tokens: number },
): string[] {
  const chunk = (choices: unknown[], extra: object = {}) =>
    `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", model: "gpt-test-0613", choices, ...extra })}\n\n`;
  return [
    chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
    ...pieces.map((p) => chunk([{ index: 0, delta: { content: p }, finish_reason: null }])),
    chunk([{ index: 0, delta: {}, finish_reason: "stop" }]),
    ...(usage ? [chunk([], { usage })] : []),
    "data: [DONE]\n\n",
  ];
}

export const ollamaWhole = (text: string, counts = true) => ({
  model: "llama-test",
  created_at: "2024-01-01T00:00:00Z",
  message: { role: "assistant", content: text },
  done: true,
  done_reason: "stop",
  ...(counts ? { prompt_eval_count: 26, eval_count: 3 } : {}),
});

export function ollamaNdjson(pieces: string[], counts = true): string[] {
  const line = (obj: object) => `${JSON.stringify({ model: "llama-test", ...obj })}\n`;
  return [
    ...pieces.map((p) => line({ message: { role: "assistant", content: p }, done: false })),
    line({
      message: { role: "assistant", content: "" },
      done: true,
      ...(counts ? { prompt_eval_count: 26, eval_count: 3 } : {}),
    }),
  ];
}
