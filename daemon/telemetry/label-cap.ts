/** The label value that stands for every value past a cap. */
export const OTHER_LABEL = "other";

/**
 * Caps the distinct values of one label that come from outside (roles, task types): the first
 * `max` values seen keep their name, later ones are exported as `other`. Each value becomes a set
 * of series on every metric that carries the label, so 2,000 task types would be thousands of
 * series per scrape; Postgres keeps every name, and the API reads them there.
 */
export class LabelCap {
  private readonly kept = new Set<string>();

  constructor(readonly max: number) {}

  label(value: string): string {
    if (this.kept.has(value)) return value;
    if (this.kept.size >= this.max) return OTHER_LABEL;
    this.kept.add(value);
    return value;
  }
}
