/**
 * Redaction of secrets in recorded prompts and responses before they leave the daemon (the
 * training-data export). Pattern based, so it catches the well-known shapes listed here and nothing
 * else: a password in free prose, or a key of an unlisted vendor, passes through.
 *
 * Every quantifier is bounded, so a long run of word characters (a 1 MB response) costs linear time,
 * never the quadratic backtracking an unbounded `[…]+@` would.
 */

export const API_KEY_MARKER = "[REDACTED_API_KEY]";
export const TOKEN_MARKER = "[REDACTED_TOKEN]";
export const EMAIL_MARKER = "[REDACTED_EMAIL]";

interface Rule {
  /** Only strings containing this (lower-cased) run the pattern: most text has none of them. */
  hint: string | null;
  pattern: RegExp;
  /** The replacement; `$<keep>` keeps a prefix (the header or assignment name). */
  replace: string;
}

// Credential characters: no brackets, so a value already replaced by a marker is not matched again.
const CRED = "[A-Za-z0-9._~+/=-]";

// Order matters: headers and bearer tokens first (they may wrap a vendor key), then vendor keys,
// then generic assignments (whose value may already be a marker), then e-mail addresses.
const RULES: Rule[] = [
  {
    // `Authorization: Bearer x`, `authorization="Basic x"`: a scheme and a credential, or a bare
    // credential of 16+ characters (so "Authorization: required" in prose survives).
    hint: "authorization",
    pattern: new RegExp(
      `(?<keep>\\bauthorization["']?\\s{0,8}[:=]\\s{0,8}["']?)(?:(?:bearer|basic|token|digest)\\s{1,8}${CRED}{6,4096}|${CRED}{16,4096})`,
      "gi",
    ),
    replace: `$<keep>${TOKEN_MARKER}`,
  },
  {
    // `Bearer <token>` with a digit in it: "bearer instruments" in prose is not a token.
    hint: "bearer",
    pattern: new RegExp(`(?<keep>\\bbearer\\s{1,8})(?=${CRED}{0,4096}[0-9])${CRED}{8,4096}`, "gi"),
    replace: `$<keep>${TOKEN_MARKER}`,
  },
  {
    // OpenAI `sk-…`, `sk-proj-…` and Anthropic `sk-ant-…`; a digit is required so that a hyphenated
    // word such as "sk-learn-style-names-here" survives.
    hint: "sk-",
    pattern: /\bsk-(?:ant-|proj-)?(?=[A-Za-z0-9_-]{0,4096}[0-9])[A-Za-z0-9_-]{20,4096}/g,
    replace: API_KEY_MARKER,
  },
  { hint: null, pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, replace: API_KEY_MARKER },
  { hint: "gh", pattern: /\bgh[pousr]_[A-Za-z0-9]{30,255}\b/g, replace: API_KEY_MARKER },
  { hint: "github_pat_", pattern: /\bgithub_pat_[A-Za-z0-9_]{22,255}/g, replace: API_KEY_MARKER },
  { hint: "xox", pattern: /\bxox[abpr]-[A-Za-z0-9-]{10,255}/g, replace: API_KEY_MARKER },
  {
    // `api_key=…`, `apiKey: "…"`, `x-api-key: …`, and prefixed names as in `.env` files
    // (`OPENAI_API_KEY=…`, `"openai_api_key": "…"`): the value (8+ characters) goes, the name stays.
    // `\b` would not do before `API` in `OPENAI_API_KEY` (`_` is a word character). Short values
    // ("apiKey: string" in a type) survive.
    hint: "api",
    pattern: new RegExp(
      `(?<keep>(?<![A-Za-z0-9])(?:[A-Za-z0-9]{1,32}[_-]){0,4}api[_-]?key["']?\\s{0,8}[:=]\\s{0,8}["']?)${CRED}{8,4096}`,
      "gi",
    ),
    replace: `$<keep>${API_KEY_MARKER}`,
  },
  {
    hint: "@",
    pattern: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}\b/g,
    replace: EMAIL_MARKER,
  },
];

/** The text with API keys, bearer tokens and e-mail addresses replaced by markers. */
export function redactText(text: string): string {
  let out = text;
  let lower: string | null = null;
  for (const rule of RULES) {
    if (rule.hint !== null) {
      lower ??= out.toLowerCase();
      if (!lower.includes(rule.hint)) continue;
    }
    const next = out.replace(rule.pattern, rule.replace);
    if (next !== out) {
      out = next;
      lower = null;
    }
  }
  return out;
}

/** Any JSON value with every string in it redacted (object keys are kept: they are structure). */
export function redactJson(value: unknown): unknown {
  if (typeof value === "string") return redactText(value);
  if (Array.isArray(value)) return value.map(redactJson);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactJson(v);
    return out;
  }
  return value;
}
