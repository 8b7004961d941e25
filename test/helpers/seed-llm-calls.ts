import type pg from "pg";

/**
 * Stores `count` recorded LLM calls on 2001-01-01, one millisecond apart from midnight UTC, role
 * `bulk`, each with a response of about 1 kB: exports over that day are long enough that a client
 * which stops reading holds its export open (the body is back-pressured page by page).
 */
export async function seedLlmCalls(db: pg.Client, count: number): Promise<void> {
  await db.query(
    `INSERT INTO llm_calls (id, at, agent_id, role, provider, model, source, input_tokens, output_tokens,
       tokens_counted, cost_usd, priced, latency_ms, ttft_ms, status, prompt, response)
     SELECT gen_random_uuid(), timestamptz '2001-01-01T00:00:00Z' + i * interval '1 ms', gen_random_uuid(),
       'bulk', 'openai', 'gpt-bulk', 'openai', 100, 50, false, 0, true, 10, NULL, 'ok',
       jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'question ' || i)), repeat('answer ', 150) || i
     FROM generate_series(1, $1) AS i`,
    [count],
  );
}
