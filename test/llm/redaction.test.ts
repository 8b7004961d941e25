import { describe, expect, it } from "vitest";
import { csvCell, csvHeader, csvRecord, type ExportRow } from "../../daemon/llm/export-format.ts";
import { redactJson, redactText } from "../../daemon/llm/redaction.ts";

const K = "[REDACTED_API_KEY]";
const T = "[REDACTED_TOKEN]";
const E = "[REDACTED_EMAIL]";

describe("redactText: secrets go", () => {
  it.each([
    ["OpenAI key", "use sk-abcdefghijklmnop1234567890XYZ now", `use ${K} now`],
    ["OpenAI project key", "key=sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12_mn-op", `key=${K}`],
    ["Anthropic key", "x sk-ant-api03-AbCdEf0123456789-ghIJkl_mnop end", `x ${K} end`],
    ["AWS access key id", "aws AKIAIOSFODNN7EXAMPLE here", `aws ${K} here`],
    ["AWS session key id", "ASIAY34FZKBOKMUTVV7A.", `${K}.`],
    ["GitHub token", "ghp_1234567890abcdefghijklmnopqrstuvwxyzAB ok", `${K} ok`],
    ["GitHub OAuth token", "gho_1234567890abcdefghijklmnopqrstuvwxyzAB", K],
    ["GitHub app token", "(ghs_abcdefghijklmnopqrstuvwxyz0123456789)", `(${K})`],
    ["GitHub fine-grained PAT", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", K],
    ["Slack bot token", "xoxb-123456789012-1234567890123-AbCdEfGhIjKl", K],
    ["Slack user token", "token xoxp-1111-2222-3333-abcdef", `token ${K}`],
    ["api_key assignment", "api_key=Zm9vYmFyYmF6cXV4", `api_key=${K}`],
    ["apikey: with spaces", "apikey:  s3cr3t-v4lue-here", `apikey:  ${K}`],
    ["apiKey in JSON", '{"apiKey": "abcdef0123456789"}', `{"apiKey": "${K}"}`],
    ["X-API-Key header", "X-API-Key: 0123456789abcdef", `X-API-Key: ${K}`],
    ["Bearer token", "curl -H 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.abc' x", `curl -H 'Bearer ${T}' x`],
    ["Authorization header", "Authorization: Bearer abc.def-123_456", `Authorization: ${T}`],
    ["Authorization Basic", "authorization: Basic dXNlcjpwYXNzd29yZA==", `authorization: ${T}`],
    ["Authorization bare", "Authorization: 0123456789abcdef0123", `Authorization: ${T}`],
    ["e-mail", "write to jane.doe+ops@example.co.uk today", `write to ${E} today`],
    ["e-mail in angle brackets", "From: <a_b@mail.example.org>", `From: <${E}>`],
    ["two e-mails", "a@b.io, c.d@e.com", `${E}, ${E}`],
    // Vendor-prefixed names as in .env files, with values no vendor rule knows.
    ["prefixed .env key", "OPENAI_API_KEY=abcdEFGH12345678xyz", `OPENAI_API_KEY=${K}`],
    ["exported prefixed key", "export GROQ_API_KEY=gsk_abcdefgh1234", `export GROQ_API_KEY=${K}`],
    ["prefixed JSON key", '{"openai_api_key": "abcdefghijkl"}', `{"openai_api_key": "${K}"}`],
  ])("%s", (_name, input, expected) => {
    expect(redactText(input)).toBe(expected);
  });

  it("redacts a key inside an assignment once (no marker inside a marker)", () => {
    expect(redactText("OPENAI_API_KEY=sk-abcdefghij0123456789klmn")).toBe(`OPENAI_API_KEY=${K}`);
    expect(redactText("api_key: sk-abcdefghij0123456789klmn")).toBe(`api_key: ${K}`);
    expect(redactText(redactText("Bearer abcdef0123456789"))).toBe(`Bearer ${T}`);
  });
});

describe("redactText: ordinary text survives", () => {
  it.each([
    "Summarise the task in three bullet points.",
    "task-1234567890abcdefghijklmnop is a task id, and risk-assessment-2024-final-v1 a file",
    "uuid 6b1e0a8c-0d0b-4a0c-9a43-3c1f5d7e9b20 and sha 3c1f5d7e9b20aa0f91d2c3b4a5968778",
    "The bearer of this letter is welcome. Bearer bonds are bearer instruments.",
    "Authorization: required before deploy",
    "the rapid_api_keyword field and MY_API_KEY=short stay",
    "interface Options { apiKey: string }",
    "set api_key=<yours> in the config",
    "an @mention, a decorator @Injectable() and user@localhost",
    "sklearn and sk-learn are the same library",
    "ASIA and AKIA alone are not keys; nor is AKIAshort",
    "Price: $12.50, ratio 3:2, path /usr/local/bin, url https://example.com/a?b=c",
    "",
  ])("%j", (input) => {
    expect(redactText(input)).toBe(input);
  });

  it("is linear on a long word without an @ or a key (no catastrophic backtracking)", () => {
    const long = `${"a".repeat(500_000)}@${"b".repeat(500_000)}`;
    // Finishes at all (a quadratic pattern would not within the test timeout); content unchanged.
    expect(redactText(long)).toBe(long);
  });
});

describe("redactJson", () => {
  it("redacts every string in any JSON value and keeps keys, numbers, nulls", () => {
    const prompt = [
      { role: "system", content: "key sk-abcdefghij0123456789klmn" },
      { role: "user", content: "mail me at a@example.com", meta: { n: 1, ok: true, x: null } },
    ];
    expect(redactJson(prompt)).toEqual([
      { role: "system", content: `key ${K}` },
      { role: "user", content: `mail me at ${E}`, meta: { n: 1, ok: true, x: null } },
    ]);
    expect(redactJson(null)).toBeNull();
    expect(redactJson("Bearer abc123def456")).toBe(`Bearer ${T}`);
  });
});

describe("CSV encoding (RFC 4180)", () => {
  it("quotes cells with commas, quotes, CR or LF and doubles inner quotes", () => {
    expect(csvCell("plain")).toBe("plain");
    expect(csvCell('say "hi", then\nleave')).toBe('"say ""hi"", then\nleave"');
    expect(csvCell("a\rb")).toBe('"a\rb"');
    expect(csvCell(null)).toBe("");
    expect(csvCell(0)).toBe("0");
    expect(csvCell(false)).toBe("false");
    expect(csvCell([{ role: "user", content: "x" }])).toBe('"[{""role"":""user"",""content"":""x""}]"');
  });

  it("writes one CRLF-terminated record per row, columns in header order", () => {
    const row = { id: "i", prompt: [], response: "r" } as unknown as ExportRow;
    const header = csvHeader().trimEnd().split(",");
    const cells = csvRecord(row).split(",");
    expect(cells).toHaveLength(header.length);
    expect(csvRecord(row).endsWith("\r\n")).toBe(true);
    expect(header.at(-2)).toBe("prompt");
  });
});
