import { Type } from "typebox";

/** Shapes every area of the contract uses: ids, names, tokens, paging numbers. */

export const Uuid = Type.String({
  pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
});
export const IdParams = Type.Object({ id: Uuid });
export const Name = Type.String({ minLength: 1, maxLength: 128 });

/** Task types become queue names and metric labels: keep them short and plain. */
export const TASK_TYPE_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";
export const TaskType = Type.String({ pattern: TASK_TYPE_PATTERN, description: "1–64 of A–Z a–z 0–9 . _ -" });

/** Task and run priorities run from 0 to this; higher runs first. */
export const MAX_PRIORITY = 1000;

// At most 18 digits: always within Postgres bigint, so a hostile token is a 409, never an overflow.
export const LeaseToken = Type.String({
  pattern: "^[0-9]{1,18}$",
  description: "fencing token from the claim",
});

export const Ok = Type.Object({ ok: Type.Boolean() });
/** A JSON document whose shape is described in the docs rather than enforced by the serializer. */
export const AnyJson = Type.Unknown();

/** Query strings are not coerced (a number arrives as text), so numbers are patterns here. */
export const PositiveIntText = Type.String({ pattern: "^[1-9][0-9]{0,8}$" });
export const NonNegativeIntText = Type.String({ pattern: "^(0|[1-9][0-9]{0,8})$" });
