import type { Static } from "typebox";
import { describe, expectTypeOf, it } from "vitest";
import type { ErrorBody } from "../../contract/errors.ts";
import type {
  ClaimBody,
  ClaimedTask,
  ClaimReply,
  HeartbeatBody,
  HeartbeatReply,
  RegisterBody,
  RegisterReply,
} from "../../contract/schemas/agents.ts";
import type { LlmCallRecord } from "../../contract/schemas/llm.ts";
import type {
  CompleteBody,
  FailBody,
  ProgressBody,
  ReleaseBody,
  TaskFailure,
} from "../../contract/schemas/tasks.ts";
import type * as Sdk from "../../sdk/index.ts";

/**
 * The SDK's wire types are the contract's (checked by `tsc --noEmit` in npm test): a field changed in
 * a contract schema changes the SDK's type, and the SDK's own code stops compiling where it no
 * longer fits. Nothing of the wire is declared twice.
 */
describe("SDK wire types", () => {
  it("are the contract's schemas", () => {
    expectTypeOf<Sdk.RegisterRequest>().toEqualTypeOf<Static<typeof RegisterBody>>();
    expectTypeOf<Sdk.RegisterResponse>().toEqualTypeOf<Static<typeof RegisterReply>>();
    expectTypeOf<Sdk.HeartbeatRequest>().toEqualTypeOf<Static<typeof HeartbeatBody>>();
    expectTypeOf<Sdk.HeartbeatResponse>().toEqualTypeOf<Static<typeof HeartbeatReply>>();
    expectTypeOf<Sdk.ClaimRequest>().toEqualTypeOf<Static<typeof ClaimBody>>();
    expectTypeOf<Sdk.ClaimResponse>().toEqualTypeOf<Static<typeof ClaimReply>>();
    expectTypeOf<Sdk.ClaimedTask>().toEqualTypeOf<Static<typeof ClaimedTask>>();
    expectTypeOf<Sdk.ProgressRequest>().toEqualTypeOf<Static<typeof ProgressBody>>();
    expectTypeOf<Sdk.CompleteRequest>().toEqualTypeOf<Static<typeof CompleteBody>>();
    expectTypeOf<Sdk.FailRequest>().toEqualTypeOf<Static<typeof FailBody>>();
    expectTypeOf<Sdk.ReleaseRequest>().toEqualTypeOf<Static<typeof ReleaseBody>>();
    expectTypeOf<Sdk.TaskFailure>().toEqualTypeOf<Static<typeof TaskFailure>>();
    expectTypeOf<Sdk.ErrorBody>().toEqualTypeOf<Static<typeof ErrorBody>>();
    expectTypeOf<Sdk.LlmCallRecord>().toEqualTypeOf<LlmCallRecord>();
  });
});
