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

// Answers (Fastify serialises with them: a property left out here is dropped). Times are ISO 8601.
const Time = Type.String({ format: "date-time" });
const JsonObject = Type.Record(Type.String(), Type.Unknown());

export const CONVERSATION_STATES = ["open", "completed"] as const;

const artifactFields = {
  id: Uuid,
  runId: Uuid,
  stepId: Type.Union([Type.String(), Type.Null()]),
  type: Type.String(),
  title: Type.String(),
  metadata: JsonObject,
  createdBy: Type.String({ description: "the actor: a role, agent:<id>, or daemon for a built-in step" }),
  createdAt: Time,
  bytes: Type.Integer({ description: "the content's size in UTF-8 bytes" }),
};
/** An artifact without its content (lists, and the answer to creating one). */
export const ArtifactView = Type.Object(artifactFields);
/** An artifact with its content. */
export const ArtifactWithContent = Type.Object({ ...artifactFields, content: Type.String() });
export const ArtifactList = Type.Object({ artifacts: Type.Array(ArtifactView) });

const conversationFields = {
  id: Uuid,
  runId: Uuid,
  stepId: Type.String(),
  title: Type.String(),
  state: Type.Enum(CONVERSATION_STATES),
  completesStep: Type.Boolean(),
  summary: Type.Union([Type.String(), Type.Null()]),
  createdAt: Time,
  completedAt: Type.Union([Time, Type.Null()]),
};
export const ConversationView = Type.Object(conversationFields);
export const ConversationList = Type.Object({
  conversations: Type.Array(
    Type.Object({ ...conversationFields, messages: Type.Integer({ description: "how many messages" }) }),
  ),
});

export const MessageView = Type.Object({
  id: Type.Integer(),
  role: Type.String(),
  author: Type.String(),
  content: Type.String(),
  metadata: JsonObject,
  at: Time,
});
/** A conversation with its latest 500 messages, oldest first; `messageCount` counts them all. */
export const ConversationWithMessages = Type.Object({
  ...conversationFields,
  messageCount: Type.Integer(),
  messages: Type.Array(MessageView),
});
export const MessageAdded = Type.Object({ id: Type.Integer(), at: Time });
