import { describe, expect, it } from "vitest";
import { ConfigError, compileConfig } from "../../daemon/config/compile-config.ts";
import { costOf, DEFAULT_PRICES, parsePricing } from "../../daemon/llm/pricing.ts";

const tokens = { inputTokens: 2_000, outputTokens: 500 };

describe("LLM pricing", () => {
  it("prices configured models per million tokens, rounded to 8 decimals", () => {
    const { prices, problems } = parsePricing('{"m": {"inputPerMTok": 3, "outputPerMTok": 15}}');
    expect(problems).toEqual([]);
    // 2000 × 3 / 1e6 + 500 × 15 / 1e6 = 0.006 + 0.0075
    expect(costOf(prices, { model: "m", source: "openai", ...tokens })).toEqual({
      costUsd: 0.0135,
      priced: true,
    });
    expect(costOf(prices, { model: "m", source: "openai", inputTokens: 1, outputTokens: 0 })).toEqual({
      costUsd: 0.000003,
      priced: true,
    });
  });

  it("has only self-hosted defaults: offline and ollama cost 0; unknown models are unpriced", () => {
    expect(DEFAULT_PRICES).toEqual({ offline: { inputPerMTok: 0, outputPerMTok: 0 } });
    const p = parsePricing(undefined).prices;
    expect(costOf(p, { model: "offline", source: "openai", ...tokens })).toEqual({
      costUsd: 0,
      priced: true,
    });
    expect(costOf(p, { model: "llama3", source: "ollama", ...tokens })).toEqual({ costUsd: 0, priced: true });
    expect(costOf(p, { model: "gpt-x", source: "openai", ...tokens })).toEqual({ costUsd: 0, priced: false });
    expect(costOf(p, { model: "constructor", source: "openai", ...tokens })).toEqual({
      costUsd: 0,
      priced: false,
    });
  });

  it("lets the configuration override a default", () => {
    const { prices } = parsePricing('{"offline": {"inputPerMTok": 1, "outputPerMTok": 1}}');
    expect(costOf(prices, { model: "offline", source: "offline", ...tokens }).costUsd).toBe(0.0025);
  });

  it("rejects a bad OVERSEER_LLM_PRICING with a ConfigError naming the problem", () => {
    const bad = [
      ["not json", /not valid JSON/],
      ["[1]", /expected an object/],
      ['{"m": 3}', /"m" must be/],
      ['{"m": {"inputPerMTok": -1, "outputPerMTok": 1}}', /"m"\.inputPerMTok must be a number from 0/],
      ['{"m": {"inputPerMTok": 1}}', /"m"\.outputPerMTok/],
      ['{"m": {"inputPerMTok": 1, "outputPerMTok": 1, "cachedPerMTok": 1}}', /unknown fields cachedPerMTok/],
      ['{"m": {"inputPerMTok": 1e9, "outputPerMTok": 1}}', /from 0 to 1000/],
    ] as const;
    for (const [raw, message] of bad) {
      let error: unknown;
      try {
        compileConfig({ OVERSEER_LLM_PRICING: raw });
      } catch (e) {
        error = e;
      }
      expect(error, raw).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message, raw).toMatch(message);
      expect((error as ConfigError).message).toContain("OVERSEER_LLM_PRICING");
    }
    expect(
      compileConfig({ OVERSEER_LLM_PRICING: '{"m": {"inputPerMTok": 0.5, "outputPerMTok": 1.5}}' }).llmPricing
        .m,
    ).toEqual({
      inputPerMTok: 0.5,
      outputPerMTok: 1.5,
    });
  });
});
