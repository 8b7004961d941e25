import { Type } from "typebox";

/**
 * The one paging convention of every list (docs/paging.md): newest first; `limit` (default
 * PAGE_LIMIT_DEFAULT, at most PAGE_LIMIT_MAX unless a route says otherwise); `before` = the previous
 * page's `nextBefore`, an opaque cursor (null on the last page); filters apply before the limit;
 * `total` counts everything the filters match, whatever the page.
 */

export const PAGE_LIMIT_DEFAULT = 100;
export const PAGE_LIMIT_MAX = 500;

/** `limit` as query text (query strings are not coerced): 1 to `max`, `PAGE_LIMIT_DEFAULT` when absent. */
export const PageLimit = (max = PAGE_LIMIT_MAX) =>
  Type.String({
    pattern: "^[1-9][0-9]{0,3}$",
    description: `1 to ${max}; ${PAGE_LIMIT_DEFAULT} when absent`,
  });

/** `before`: the previous page's `nextBefore`, passed back unchanged (its form is not a promise). */
export const PageBefore = Type.String({
  minLength: 1,
  maxLength: 200,
  description: "the previous page's nextBefore, unchanged; absent for the first (newest) page",
});

/** The query fields every paged list takes. */
export const pageQuery = (max = PAGE_LIMIT_MAX) => ({
  limit: Type.Optional(PageLimit(max)),
  before: Type.Optional(PageBefore),
});

/** Continues the listing: pass it as `before`; null on the last page. */
export const NextBefore = Type.Union([Type.String(), Type.Null()], {
  description: "pass as before for the next (older) page; null when this page is the last",
});

/** Everything the filters match, on every page (not the rows of this page). */
export const Total = Type.Integer({ minimum: 0, description: "every entry the filters match" });
