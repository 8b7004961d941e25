// A tiny in-memory stand-in for the Overseer daemon's agent protocol, for SDK tests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StubTask {
  id: string;
  type: string;
  payload?: unknown;
  attempt?: number;
  timeoutMs?: number;
  /** Sent in the claim answer as the daemon does when it traces. */
  traceparent?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The bearer token, without the "Bearer " prefix. */
  token: string | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: tests poke into bodies freely.
  body: any;
  at: number;
}

export interface StubResponse {
  status: number;
  body?: unknown;
}

/** Returns a response to short-circuit the default behaviour, or undefined to fall through. */
export type Override = (req: RecordedRequest) => StubResponse | undefined | Promise<StubResponse | undefined>;

interface Lease {
  task: StubTask & { attempt: number };
  agentId: string;
  leaseToken: string;
}

interface ClaimWaiter {
  agentId: string;
  max: number;
  serve: (tasks: Lease[]) => void;
}

/** In-memory daemon: agents, a FIFO queue, leases with fencing tokens, commands delivered on heartbeats. */
export class StubDaemon {
  url = "";
  agentSecret = "test-secret";
  heartbeatIntervalMs = 50;
  /** Misbehave: hand out the whole queue whatever `max` the claim asked for. */
  ignoreClaimMax = false;
  readonly requests: RecordedRequest[] = [];
  readonly agents = new Map<string, { token: string; name: string }>();
  readonly leases = new Map<string, Lease>();
  private readonly queue: Array<StubTask & { attempt: number }> = [];
  private readonly waiters: ClaimWaiter[] = [];
  private readonly commands = new Map<string, unknown[]>();
  private readonly overrides: Override[] = [];
  private readonly server: Server;
  private agentSeq = 0;
  private leaseSeq = 0;

  constructor() {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) =>
        send(res, 500, { error: { code: "STUB", message: String(err) } }),
      );
    });
  }

  /** Listens on 127.0.0.1 and an ephemeral port. */
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const waiter of this.waiters.splice(0)) waiter.serve([]);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Adds tasks to the queue and serves waiting claims. */
  enqueue(...tasks: StubTask[]): void {
    for (const task of tasks) this.queue.push({ ...task, attempt: task.attempt ?? 1 });
    this.serveWaiters();
  }

  /** Queues a command for the agent's next heartbeat. */
  command(agentId: string, command: unknown): void {
    const list = this.commands.get(agentId) ?? [];
    list.push(command);
    this.commands.set(agentId, list);
  }

  /** Installs an override; returns a function removing it. */
  override(fn: Override): () => void {
    this.overrides.push(fn);
    return () => {
      const i = this.overrides.indexOf(fn);
      if (i >= 0) this.overrides.splice(i, 1);
    };
  }

  /** Forgets an agent as if it had been declared dead: its heartbeats now get 404. */
  forget(agentId: string): void {
    this.agents.delete(agentId);
  }

  /** Requests matching a method and a path (exact string or pattern). */
  requestsTo(method: string, path: string | RegExp): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.method === method && (typeof path === "string" ? r.path === path : path.test(r.path)),
    );
  }

  /** Polls `probe` until it returns something truthy. */
  async waitFor<T>(
    probe: () => T | undefined | null | false,
    timeoutMs = 2_000,
    what = "condition",
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const auth = req.headers.authorization;
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path: new URL(req.url ?? "/", "http://stub").pathname,
      token: auth?.startsWith("Bearer ") ? auth.slice(7) : undefined,
      body: text === "" ? undefined : JSON.parse(text),
      at: Date.now(),
    };
    this.requests.push(recorded);
    for (const override of [...this.overrides]) {
      const answer = await override(recorded);
      if (answer) return send(res, answer.status, answer.body);
    }
    const answer = this.route(recorded, res);
    if (answer) send(res, answer.status, answer.body);
  }

  /** Default protocol behaviour; returns undefined when the answer is deferred (long-poll). */
  private route(req: RecordedRequest, res: ServerResponse): StubResponse | undefined {
    const { method, path, token, body } = req;
    if (method === "POST" && path === "/api/agents/register") {
      if (token !== this.agentSecret) return error(401, "UNAUTHORIZED", "bad agent secret");
      const n = ++this.agentSeq;
      const agent = { id: `agent-${n}`, token: `token-${n}` };
      this.agents.set(agent.id, { token: agent.token, name: body?.name });
      return {
        status: 201,
        body: {
          ...agent,
          heartbeatIntervalMs: this.heartbeatIntervalMs,
          leaseTimeoutMs: this.heartbeatIntervalMs * 4,
        },
      };
    }
    const agentRoute = /^\/api\/agents\/([^/]+)(?:\/(heartbeat|claim))?$/.exec(path);
    if (agentRoute) {
      const agentId = agentRoute[1]!;
      const agent = this.agents.get(agentId);
      if (!agent) return error(404, "AGENT_NOT_FOUND", `unknown agent ${agentId}`);
      if (agent.token !== token) return error(401, "UNAUTHORIZED", "bad token");
      if (method === "DELETE" && agentRoute[2] === undefined) {
        this.agents.delete(agentId);
        for (const lease of [...this.leases.values()]) if (lease.agentId === agentId) this.requeue(lease);
        return { status: 204 };
      }
      if (method === "POST" && agentRoute[2] === "heartbeat") {
        const commands = this.commands.get(agentId) ?? [];
        this.commands.delete(agentId);
        return { status: 200, body: { commands } };
      }
      if (method === "POST" && agentRoute[2] === "claim") {
        this.claim(agentId, body?.max ?? 1, body?.waitMs ?? 0, res);
        return undefined;
      }
    }
    const taskRoute = /^\/api\/tasks\/([^/]+)\/(progress|complete|fail|release)$/.exec(path);
    if (method === "POST" && taskRoute) {
      const lease = this.leases.get(body?.leaseToken);
      const owner = lease && this.agentTokenOf(lease.agentId);
      if (!lease || lease.task.id !== taskRoute[1] || (owner !== undefined && owner !== token)) {
        return error(409, "LEASE_REVOKED", "lease revoked");
      }
      if (taskRoute[2] === "release") this.requeue(lease);
      else if (taskRoute[2] !== "progress") this.leases.delete(lease.leaseToken);
      return { status: 200, body: {} };
    }
    return error(404, "NOT_FOUND", `no route ${method} ${path}`);
  }

  private agentTokenOf(agentId: string): string | undefined {
    return this.agents.get(agentId)?.token;
  }

  private claim(agentId: string, max: number, waitMs: number, res: ServerResponse): void {
    const waiter: ClaimWaiter = {
      agentId,
      max,
      serve: (leases) => {
        clearTimeout(timer);
        const tasks = leases.map((l) => ({ ...l.task, leaseToken: l.leaseToken }));
        send(res, 200, { tasks });
      },
    };
    const timer = setTimeout(() => this.dropWaiter(waiter, true), waitMs);
    res.on("close", () => this.dropWaiter(waiter, false));
    this.waiters.push(waiter);
    this.serveWaiters();
  }

  private dropWaiter(waiter: ClaimWaiter, answerEmpty: boolean): void {
    const i = this.waiters.indexOf(waiter);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    if (answerEmpty) waiter.serve([]);
  }

  private serveWaiters(): void {
    while (this.queue.length > 0 && this.waiters.length > 0) {
      const waiter = this.waiters.shift()!;
      const leases = this.queue
        .splice(0, this.ignoreClaimMax ? this.queue.length : waiter.max)
        .map((task) => {
          const lease = { task, agentId: waiter.agentId, leaseToken: `lease-${++this.leaseSeq}` };
          this.leases.set(lease.leaseToken, lease);
          return lease;
        });
      waiter.serve(leases);
    }
  }

  private requeue(lease: Lease): void {
    this.leases.delete(lease.leaseToken);
    this.queue.push(lease.task);
    this.serveWaiters();
  }
}

function error(status: number, code: string, message: string): StubResponse {
  return { status, body: { error: { code, message } } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
