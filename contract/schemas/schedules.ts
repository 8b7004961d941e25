import { Type } from "typebox";
import { Uuid } from "./common.ts";
import { TemplateName } from "./pipelines.ts";

/** `done`: a one-off that has fired. */
export const SCHEDULE_STATES = ["active", "paused", "done"] as const;
export type ScheduleState = (typeof SCHEDULE_STATES)[number];

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
  state: Type.Optional(Type.Union(SCHEDULE_STATES.map((s) => Type.Literal(s)))),
});

export const ScheduleActionBody = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2_000 })) },
  { additionalProperties: false },
);

// Answers (Fastify serialises with them: a property left out here is dropped). Times are ISO 8601.
const Time = Type.String({ format: "date-time" });
const NullableTime = Type.Union([Time, Type.Null()]);

const scheduleFields = {
  id: Uuid,
  name: Type.String(),
  template: Type.String(),
  input: Type.Unknown({ description: "as given; the template's defaults are filled in at each tick" }),
  kind: Type.Enum(["cron", "once"]),
  cron: Type.Union([Type.String(), Type.Null()]),
  runAt: NullableTime,
  timezone: Type.String(),
  state: Type.Enum(SCHEDULE_STATES),
  nextRunAt: NullableTime,
  lastTickAt: NullableTime,
  createdAt: Time,
  updatedAt: Time,
};
export const ScheduleView = Type.Object(scheduleFields);
export const ScheduleList = Type.Object({ schedules: Type.Array(ScheduleView) });
/** One tick of a schedule: when it was due, when it fired, and the run it started (null: none). */
export const ScheduleTick = Type.Object({
  tickAt: Time,
  runId: Type.Union([Uuid, Type.Null()]),
  firedAt: Time,
});
/** A schedule with its latest ticks, newest first. */
export const ScheduleWithTicks = Type.Object({ ...scheduleFields, ticks: Type.Array(ScheduleTick) });
