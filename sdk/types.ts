// Wire types of the HTTP agent protocol, derived from the contract (contract/schemas/): the SDK
// declares none of its own, so a change to a schema there changes (or breaks) the SDK's compile.
import type { Static } from "typebox";
import type { ErrorBody as ErrorBodySchema } from "../contract/errors.ts";
import type {
  AgentWireStatus as AgentWireStatusSchema,
  CancelCommand as CancelCommandSchema,
  ClaimBody,
  ClaimedTask as ClaimedTaskSchema,
  ClaimReply,
  DrainCommand as DrainCommandSchema,
  HeartbeatBody,
  HeartbeatReply,
  RegisterBody,
  RegisterReply,
  RestartCommand as RestartCommandSchema,
} from "../contract/schemas/agents.ts";
import type {
  CompleteBody,
  FailBody,
  ProgressBody,
  ReleaseBody,
  TaskFailure as TaskFailureSchema,
} from "../contract/schemas/tasks.ts";

/** Status an agent reports in its heartbeats. */
export type AgentWireStatus = Static<typeof AgentWireStatusSchema>;
/** Body of `POST /api/agents/register`. */
export type RegisterRequest = Static<typeof RegisterBody>;
/** 201 answer of `POST /api/agents/register`. */
export type RegisterResponse = Static<typeof RegisterReply>;
/** Body of `POST /api/agents/:id/heartbeat`. */
export type HeartbeatRequest = Static<typeof HeartbeatBody>;
/** Abort one task: its lease is gone, the agent must not report it. */
export type CancelCommand = Static<typeof CancelCommandSchema>;
/** Stop claiming, finish in-flight work, deregister. */
export type DrainCommand = Static<typeof DrainCommandSchema>;
/** Drain, then ask the process manager for a restart. */
export type RestartCommand = Static<typeof RestartCommandSchema>;
/** Commands the daemon piggybacks on heartbeat answers. */
export type Command = CancelCommand | DrainCommand | RestartCommand;
/** 200 answer of `POST /api/agents/:id/heartbeat`; commands may hold types this SDK does not know. */
export type HeartbeatResponse = Static<typeof HeartbeatReply>;
/** Body of `POST /api/agents/:id/claim`. */
export type ClaimRequest = Static<typeof ClaimBody>;
/** A task leased to this agent; every report about it must carry its `leaseToken`. */
export type ClaimedTask = Static<typeof ClaimedTaskSchema>;
/** 200 answer of `POST /api/agents/:id/claim`. */
export type ClaimResponse = Static<typeof ClaimReply>;
/** Body of `POST /api/tasks/:id/progress`. */
export type ProgressRequest = Static<typeof ProgressBody>;
/** Body of `POST /api/tasks/:id/complete`. */
export type CompleteRequest = Static<typeof CompleteBody>;
/** Error description sent with `POST /api/tasks/:id/fail`. */
export type TaskFailure = Static<typeof TaskFailureSchema>;
/** Body of `POST /api/tasks/:id/fail`. */
export type FailRequest = Static<typeof FailBody>;
/** Body of `POST /api/tasks/:id/release`. */
export type ReleaseRequest = Static<typeof ReleaseBody>;
/** Shape of every error body the daemon sends; `details` locates the fault, e.g. `{index, field?}` of a batch. */
export type ErrorBody = Static<typeof ErrorBodySchema>;
