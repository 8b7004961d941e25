import { createHmac, timingSafeEqual } from "node:crypto";

/** Who a request acts as. Roles nest: admin ⊃ operator ⊃ viewer. Agents act only on themselves. */
export type Principal =
  | { kind: "role"; role: Role }
  | { kind: "agent"; agentId: string }
  | { kind: "registrar" };
export type Role = "viewer" | "operator" | "admin";

/** What a route requires; set as `config.auth` on every route. */
export type AuthRequirement = "public" | Role | "agent" | "agent-or-operator" | "register";

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export interface AuthConfig {
  tokens: { admin: string; operator: string; viewer: string };
  agentSecret: string;
  namespace: string;
}

/** Verifies bearer tokens. Agent tokens are HMACs of the agent id, so checking one needs no lookup. */
export class Authenticator {
  private readonly agentKey: Buffer;

  constructor(private readonly config: AuthConfig) {
    this.agentKey = createHmac("sha256", config.agentSecret)
      .update(`overseer-agent-token:${config.namespace}`)
      .digest();
  }

  /** Issues the token an agent uses for every later call. */
  agentToken(agentId: string): string {
    return `ovsa.${agentId}.${this.sign(agentId)}`;
  }

  /** Resolves a bearer token to a principal, or null when it is unknown. */
  identify(token: string): Principal | null {
    if (token.startsWith("ovsa.")) {
      const parts = token.split(".");
      const [, agentId, mac] = parts;
      if (parts.length === 3 && agentId && mac && safeEqual(mac, this.sign(agentId)))
        return { kind: "agent", agentId };
      return null;
    }
    const { admin, operator, viewer } = this.config.tokens;
    if (safeEqual(token, admin)) return { kind: "role", role: "admin" };
    if (safeEqual(token, operator)) return { kind: "role", role: "operator" };
    if (safeEqual(token, viewer)) return { kind: "role", role: "viewer" };
    if (safeEqual(token, this.config.agentSecret)) return { kind: "registrar" };
    return null;
  }

  private sign(agentId: string): string {
    return createHmac("sha256", this.agentKey).update(agentId).digest("base64url");
  }
}

/** Whether `who` may call a route that requires `need` (resource ownership is checked by the route). */
export function allows(who: Principal, need: AuthRequirement): boolean {
  if (need === "public") return true;
  if (who.kind === "registrar") return need === "register";
  if (who.kind === "agent") return need === "agent" || need === "agent-or-operator";
  if (need === "register") return who.role === "admin";
  if (need === "agent") return false;
  if (need === "agent-or-operator") return RANK[who.role] >= RANK.operator;
  return RANK[who.role] >= RANK[need];
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Which tokens may call a route that requires `need`, in words: the 403's message names them. */
const WHO_MAY: Record<Exclude<AuthRequirement, "public">, string> = {
  viewer: "a viewer, operator or admin token",
  operator: "an operator or admin token",
  admin: "an admin token",
  agent: "an agent token",
  "agent-or-operator": "an agent token, or an operator or admin token",
  register: "the agent secret or an admin token",
};

/**
 * The message of the 403 for a token that may not call a route requiring `need`. It names the
 * tokens that may, never the requirement's internal name ("register" is no role anyone holds).
 */
export function forbiddenMessage(need: AuthRequirement): string {
  return need === "public" ? "this route is public" : `this route needs ${WHO_MAY[need]}`;
}
