import { describe, expect, it } from "vitest";
import {
  Authenticator,
  type AuthRequirement,
  allows,
  forbiddenMessage,
  type Principal,
} from "../../api/auth.ts";

const config = {
  tokens: {
    admin: "admin-token-0123456789",
    operator: "operator-token-0123456789",
    viewer: "viewer-token-0123456789",
  },
  agentSecret: "agent-secret-0123456789",
  namespace: "unit",
};
const AGENT_ID = "3f1c2a9e-8d4b-4c1e-9a7f-0b6d5e4c3b2a";
const OTHER_ID = "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d";

describe("Authenticator", () => {
  const auth = new Authenticator(config);

  it("an agent token round-trips to its agent", () => {
    const token = auth.agentToken(AGENT_ID);
    expect(token.startsWith(`ovsa.${AGENT_ID}.`)).toBe(true);
    expect(auth.identify(token)).toEqual({ kind: "agent", agentId: AGENT_ID });
    expect(auth.agentToken(AGENT_ID)).toBe(token);
    expect(auth.agentToken(OTHER_ID)).not.toBe(token);
  });

  it("rejects a tampered agent token", () => {
    const token = auth.agentToken(AGENT_ID);
    const mac = token.split(".")[2]!;
    const flipped = `${mac.slice(0, -1)}${mac.endsWith("A") ? "B" : "A"}`;
    for (const bad of [
      `ovsa.${AGENT_ID}.${flipped}`,
      `ovsa.${OTHER_ID}.${mac}`,
      `ovsa.${AGENT_ID}.`,
      `ovsa.${AGENT_ID}`,
      `ovsa..${mac}`,
      "ovsa.",
      `ovsa.${AGENT_ID}.${mac.slice(0, 10)}`,
      token.toUpperCase(),
    ]) {
      expect(auth.identify(bad), bad).toBeNull();
    }
  });

  it("an agent token is bound to the secret and the namespace", () => {
    const token = auth.agentToken(AGENT_ID);
    expect(new Authenticator({ ...config, namespace: "other" }).identify(token)).toBeNull();
    expect(
      new Authenticator({ ...config, agentSecret: "another-secret-0123456789" }).identify(token),
    ).toBeNull();
  });

  it("identifies the role tokens and the registration secret", () => {
    expect(auth.identify(config.tokens.admin)).toEqual({ kind: "role", role: "admin" });
    expect(auth.identify(config.tokens.operator)).toEqual({ kind: "role", role: "operator" });
    expect(auth.identify(config.tokens.viewer)).toEqual({ kind: "role", role: "viewer" });
    expect(auth.identify(config.agentSecret)).toEqual({ kind: "registrar" });
  });

  it("rejects unknown tokens, prefixes and extensions of real ones", () => {
    for (const bad of [
      "",
      "nope",
      config.tokens.admin.slice(0, -1),
      `${config.tokens.admin}x`,
      ` ${config.tokens.admin}`,
      config.tokens.admin.toUpperCase(),
    ]) {
      expect(auth.identify(bad), JSON.stringify(bad)).toBeNull();
    }
  });
});

describe("allows", () => {
  const admin: Principal = { kind: "role", role: "admin" };
  const operator: Principal = { kind: "role", role: "operator" };
  const viewer: Principal = { kind: "role", role: "viewer" };
  const agent: Principal = { kind: "agent", agentId: AGENT_ID };
  const registrar: Principal = { kind: "registrar" };
  const who = { admin, operator, viewer, agent, registrar };

  /** need → who may call it. Roles nest admin ⊃ operator ⊃ viewer; agents and the registrar are separate. */
  const MATRIX: Record<AuthRequirement, Array<keyof typeof who>> = {
    public: ["admin", "operator", "viewer", "agent", "registrar"],
    viewer: ["admin", "operator", "viewer"],
    operator: ["admin", "operator"],
    admin: ["admin"],
    agent: ["agent"],
    "agent-or-operator": ["admin", "operator", "agent"],
    register: ["admin", "registrar"],
  };

  for (const [need, allowed] of Object.entries(MATRIX) as Array<[AuthRequirement, string[]]>) {
    it(`${need}: ${allowed.join(", ")}`, () => {
      for (const [name, principal] of Object.entries(who)) {
        expect(allows(principal, need), `${name} on ${need}`).toBe(allowed.includes(name));
      }
    });
  }

  it("role ranks nest: whatever a lower role may do, a higher one may too", () => {
    const ranked = [viewer, operator, admin];
    for (const need of Object.keys(MATRIX) as AuthRequirement[]) {
      for (let i = 1; i < ranked.length; i++) {
        if (allows(ranked[i - 1]!, need)) expect(allows(ranked[i]!, need), need).toBe(true);
      }
    }
  });
});

describe("the 403's message names the tokens that may call the route (issue 15)", () => {
  it("says which token kinds may, never an internal requirement name", () => {
    expect(forbiddenMessage("register")).toBe("this route needs the agent secret or an admin token");
    expect(forbiddenMessage("agent")).toBe("this route needs an agent token");
    expect(forbiddenMessage("viewer")).toBe("this route needs a viewer, operator or admin token");
    expect(forbiddenMessage("operator")).toBe("this route needs an operator or admin token");
    expect(forbiddenMessage("admin")).toBe("this route needs an admin token");
    expect(forbiddenMessage("agent-or-operator")).toBe(
      "this route needs an agent token, or an operator or admin token",
    );
  });
});
