import { defineRoute } from "../route.ts";
import { ConsoleSession } from "../schemas/console.ts";

/** What the operator console asks the daemon besides the API it acts through (docs/console.md). */
export const CONSOLE_ROUTES = {
  session: defineRoute({
    method: "GET",
    url: "/api/console/session",
    operationId: "getConsoleSession",
    summary: "The token's role and audit name, and Grafana's URL and dashboards, for the operator console",
    tag: "console",
    auth: "viewer",
    replies: { 200: ConsoleSession },
  }),
};
