import { h } from "./dom.ts";

/**
 * A table that draws only the rows in view, so a fleet of 10,000 agents costs the browser about
 * forty rows of DOM however far it scrolls. Rows have one fixed height; the header stays put.
 */
export interface VirtualColumn<T> {
  head: string;
  cell: (row: T) => Node | string;
  num?: boolean;
  width?: string;
}

export class VirtualTable<T> {
  readonly element: HTMLElement;
  private rows: readonly T[] = [];
  private readonly body: HTMLTableSectionElement;
  private readonly table: HTMLTableElement;
  private frame = 0;

  constructor(
    private readonly columns: VirtualColumn<T>[],
    label: string,
    private readonly rowHeight = 28,
  ) {
    this.body = h("tbody");
    this.table = h(
      "table",
      { "aria-label": label, "aria-rowcount": 0 },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          columns.map((c) =>
            h(
              "th",
              { scope: "col", class: c.num ? "num" : null, style: c.width ? `width:${c.width}` : null },
              c.head,
            ),
          ),
        ),
      ),
      this.body,
    );
    this.element = h(
      "div",
      { class: "virtual", tabindex: "0", role: "region", "aria-label": `${label} (scrollable)` },
      this.table,
    );
    this.element.addEventListener("scroll", () => this.schedule());
  }

  setRows(rows: readonly T[]): void {
    this.rows = rows;
    this.table.setAttribute("aria-rowcount", String(rows.length + 1));
    this.draw();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    const view = this.element.clientHeight || 560;
    const first = Math.max(0, Math.floor(this.element.scrollTop / this.rowHeight) - 5);
    const last = Math.min(this.rows.length, first + Math.ceil(view / this.rowHeight) + 10);
    // Rows above and below the window are one empty row each, as tall as the rows they stand for.
    const pad = (n: number) => h("tr", { "aria-hidden": "true", style: `height:${n * this.rowHeight}px` });
    const trs: HTMLElement[] = [pad(first)];
    for (let i = first; i < last; i++) {
      const row = this.rows[i] as T;
      trs.push(
        h(
          "tr",
          { "aria-rowindex": i + 2, style: `height:${this.rowHeight}px` },
          this.columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(row))),
        ),
      );
    }
    trs.push(pad(this.rows.length - last));
    this.body.replaceChildren(...trs);
  }
}
