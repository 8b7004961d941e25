import { defineRoute } from "../route.ts";
import { IdParams } from "../schemas/common.ts";
import {
  OverrideBody,
  OverrideListReply,
  OverrideReply,
  OverridesQuery,
  UndoBody,
  UndoReply,
} from "../schemas/overrides.ts";

/** Emergency overrides (docs/overrides.md): admin, two steps, audited; listed for viewers. */
export const OVERRIDE_ROUTES = {
  request: defineRoute({
    method: "POST",
    url: "/api/dashboard/system/emergency-override",
    operationId: "requestEmergencyOverride",
    summary:
      "Without a confirmationToken a dry run (impact and token); with it, the override is executed (audited)",
    tag: "overrides",
    auth: "admin",
    rateLimit: "control",
    body: OverrideBody,
    replies: { 200: OverrideReply },
    errors: [409],
  }),
  list: defineRoute({
    method: "GET",
    url: "/api/dashboard/system/overrides",
    operationId: "listOverrides",
    summary: "Overrides newest first (100 by default), optionally of one state",
    tag: "overrides",
    auth: "viewer",
    querystring: OverridesQuery,
    replies: { 200: OverrideListReply },
  }),
  undo: defineRoute({
    method: "POST",
    url: "/api/dashboard/system/overrides/:id/undo",
    operationId: "undoOverride",
    summary: "End an active override before its expiry (audited); one-shot and ended overrides answer 409",
    tag: "overrides",
    auth: "admin",
    rateLimit: "control",
    params: IdParams,
    body: UndoBody,
    replies: { 200: UndoReply },
    errors: [404, 409],
  }),
};
