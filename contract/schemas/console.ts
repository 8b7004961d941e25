import { type Static, Type } from "typebox";
import { GRAFANA_DASHBOARDS } from "../grafana-dashboards.ts";

/** What the operator console (served at /ui) learns about the token it was given, and where Grafana is. */
export const ConsoleSession = Type.Object({
  role: Type.Union([Type.Literal("viewer"), Type.Literal("operator"), Type.Literal("admin")], {
    description: "the token's role: the console offers only the actions it allows (the server still checks)",
  }),
  actor: Type.String({ description: "how the audit log names this caller (role, and X-Overseer-Actor)" }),
  grafana: Type.Object({
    url: Type.Union([Type.String(), Type.Null()], {
      description: "OVERSEER_GRAFANA_URL; null when unset (the console then shows no Grafana links)",
    }),
    dashboards: Type.Object(
      Object.fromEntries(Object.keys(GRAFANA_DASHBOARDS).map((k) => [k, Type.String()])) as Record<
        keyof typeof GRAFANA_DASHBOARDS,
        ReturnType<typeof Type.String>
      >,
      { description: "the dashboards' uids, by what each shows" },
    ),
  }),
});
export type ConsoleSession = Static<typeof ConsoleSession>;
