/** A Markdown table, columns padded to width and aligned left or right (the bench results and doc blocks). */
export function markdownTable(rows: string[][], align: Array<"l" | "r">): string {
  const widths = align.map((_, c) => Math.max(3, ...rows.map((row) => (row[c] ?? "").length)));
  const fmt = (row: string[]) =>
    `| ${row.map((cell, c) => (align[c] === "r" ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0))).join(" | ")} |`;
  const rule = `| ${widths.map((w, c) => (align[c] === "r" ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
  const [head, ...body] = rows;
  return [fmt(head ?? []), rule, ...body.map(fmt)].join("\n");
}
