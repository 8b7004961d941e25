/**
 * What LLM calls cost: USD per million input and output tokens, by model. Pure: no I/O, no clock.
 *
 * Built in are only the self-hosted defaults (the `offline` model and anything answered by an
 * `ollama` or `offline` source cost nothing). Commercial prices change and differ by contract, so
 * none are built in: OVERSEER_LLM_PRICING supplies them, and a call to a model without a price
 * costs 0 and is marked `priced: false` so reports can say what they are missing.
 */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** Sources that run on our own hardware: their calls are free unless a model price says otherwise. */
export const SELF_HOSTED_SOURCES: ReadonlySet<string> = new Set(["ollama", "offline"]);

/** Built-in prices: only self-hosted models. */
export const DEFAULT_PRICES: PriceTable = { offline: { inputPerMTok: 0, outputPerMTok: 0 } };

/** Highest accepted price per million tokens; keeps every per-call cost within numeric(14,8). */
export const MAX_PRICE_PER_MTOK = 1_000;

export interface CallCost {
  costUsd: number;
  priced: boolean;
}

/**
 * The cost of one call. A configured price for the model wins; then the self-hosted defaults;
 * otherwise the model is unpriced (cost 0). Rounded to 8 decimals (the column's scale).
 */
export function costOf(
  prices: PriceTable,
  call: { model: string; source: string; inputTokens: number; outputTokens: number },
): CallCost {
  const price = Object.hasOwn(prices, call.model) ? prices[call.model] : undefined;
  if (price) {
    const raw = (call.inputTokens * price.inputPerMTok + call.outputTokens * price.outputPerMTok) / 1_000_000;
    return { costUsd: Math.round(raw * 1e8) / 1e8, priced: true };
  }
  if (SELF_HOSTED_SOURCES.has(call.source)) return { costUsd: 0, priced: true };
  return { costUsd: 0, priced: false };
}

/**
 * Parses OVERSEER_LLM_PRICING (`{"model": {"inputPerMTok": n, "outputPerMTok": n}}`) over the
 * defaults. Returns the table, or the problems found (each naming the model and field).
 */
export function parsePricing(raw: string | undefined): { prices: PriceTable; problems: string[] } {
  const prices: Record<string, ModelPrice> = { ...DEFAULT_PRICES };
  if (raw === undefined || raw.trim() === "") return { prices, problems: [] };
  const name = "OVERSEER_LLM_PRICING";
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    return { prices, problems: [`${name}: not valid JSON (${(error as Error).message})`] };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return {
      prices,
      problems: [`${name}: expected an object like {"model": {"inputPerMTok": 0.5, "outputPerMTok": 1.5}}`],
    };
  }
  const problems: string[] = [];
  for (const [model, entry] of Object.entries(parsed)) {
    if (model.length === 0 || model.length > 256) {
      problems.push(`${name}: model names must be 1 to 256 characters`);
      continue;
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      problems.push(`${name}: ${JSON.stringify(model)} must be {"inputPerMTok": n, "outputPerMTok": n}`);
      continue;
    }
    const e = entry as Record<string, unknown>;
    const unknown = Object.keys(e).filter((k) => k !== "inputPerMTok" && k !== "outputPerMTok");
    if (unknown.length > 0) {
      problems.push(`${name}: ${JSON.stringify(model)} has unknown fields ${unknown.join(", ")}`);
    }
    let ok = true;
    for (const field of ["inputPerMTok", "outputPerMTok"] as const) {
      const v = e[field];
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > MAX_PRICE_PER_MTOK) {
        problems.push(
          `${name}: ${JSON.stringify(model)}.${field} must be a number from 0 to ${MAX_PRICE_PER_MTOK} (USD per million tokens)`,
        );
        ok = false;
      }
    }
    if (ok)
      prices[model] = { inputPerMTok: e.inputPerMTok as number, outputPerMTok: e.outputPerMTok as number };
  }
  return { prices, problems };
}
