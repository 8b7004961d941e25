import { Type } from "typebox";
import { TemplateName } from "./pipelines.ts";

/** Schemas of the schedule routes (shape only: cron, time zone and time are checked in the daemon). */
export const ScheduleName = Type.String({
  pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
  description: "1–128 of A–Z a–z 0–9 . _ -, unique",
});

export const CreateScheduleBody = Type.Object(
  {
    name: ScheduleName,
    template: TemplateName,
    input: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    cron: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: "recurring: 5 fields, or 6 with leading seconds (e.g. `0 9 * * 1-5`, `*/10 * * * * *`)",
      }),
    ),
    timezone: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: "IANA time zone of `cron` (default UTC)" }),
    ),
    runAt: Type.Optional(Type.String({ format: "date-time", description: "one-off: a time in the future" })),
  },
  { additionalProperties: false },
);

export const ScheduleListQuery = Type.Object({
  state: Type.Optional(Type.Union([Type.Literal("active"), Type.Literal("paused"), Type.Literal("done")])),
});

export const ScheduleActionBody = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2_000 })) },
  { additionalProperties: false },
);
