import { Type } from "typebox";
import { Uuid } from "./common.ts";

const StepId = Type.String({ pattern: "^[a-z][a-z0-9_-]{0,63}$" });

export const ArtifactBody = Type.Object(
  {
    stepId: Type.Optional(StepId),
    type: Type.String({
      minLength: 1,
      maxLength: 128,
      description: "a media type or a short kind, e.g. text/markdown",
    }),
    title: Type.String({ minLength: 1, maxLength: 256 }),
    content: Type.String({ maxLength: 10_000_000 }),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export const ConversationBody = Type.Object(
  {
    stepId: StepId,
    title: Type.String({ minLength: 1, maxLength: 256 }),
    completesStep: Type.Optional(Type.Boolean({ description: "completing the thread completes its step" })),
  },
  { additionalProperties: false },
);

export const MessageBody = Type.Object(
  {
    role: Type.String({
      pattern: "^[a-z][a-z0-9_-]{0,31}$",
      description: "e.g. user, assistant, system, tool",
    }),
    content: Type.String({ minLength: 1, maxLength: 1_000_000 }),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export const CompleteConversationBody = Type.Object(
  { summary: Type.Optional(Type.String({ maxLength: 100_000 })) },
  { additionalProperties: false },
);

export const ArtifactParams = Type.Object({ id: Uuid });
