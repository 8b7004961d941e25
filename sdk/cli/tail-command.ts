import WebSocket from "ws";
import { checkFlags, parseDuration, stringFlag } from "./args.ts";
import type { CommandContext, CommandResult } from "./command-context.ts";
import { CliError, EXIT } from "./exit-codes.ts";
import { eventLine, progressBar, runBars } from "./render.ts";

const FEEDS = ["dashboard", "agents", "tasks", "coordination", "system"];
const FINAL_RUN_EVENTS = new Set(["pipeline.run.completed", "pipeline.run.failed", "pipeline.run.cancelled"]);

type RunBar = { template: string; percent: number; state: string };
type RunSummary = { id: string; template: string; percent?: number; state: string };
/** The feed messages the tail reads (docs/websocket.md); anything else is passed over. */
interface FeedMessage {
  type?: string;
  data?: { coordination?: { runs?: RunSummary[] }; runs?: RunSummary[] };
  event?: { type: string; runId?: string; template?: string; percent?: number } & Record<string, unknown>;
}

/**
 * `overseer tail [--feed f] [--count n] [--for 30s]`: the live event feed over the WebSocket, with a
 * progress bar per running pipeline run (redrawn in place on a terminal). --json prints each
 * message as one JSON line. Ends on Ctrl-C, after --count events or after --for.
 */
export async function tailCommand(ctx: CommandContext): Promise<CommandResult> {
  checkFlags(ctx.args, ["feed", "count", "for"]);
  const feed = stringFlag(ctx.args, "feed") ?? "dashboard";
  if (!FEEDS.includes(feed)) throw new CliError(EXIT.usage, `--feed must be one of ${FEEDS.join(", ")}`);
  const countText = stringFlag(ctx.args, "count");
  const maxEvents = countText === undefined ? Number.POSITIVE_INFINITY : Number(countText);
  if (!(maxEvents > 0) || (Number.isFinite(maxEvents) && !Number.isInteger(maxEvents))) {
    throw new CliError(EXIT.usage, "--count must be a positive integer");
  }
  const forText = stringFlag(ctx.args, "for");
  const forMs = forText === undefined ? null : parseDuration(forText, "for");

  const wsUrl = `${ctx.target.url.replace(/\/+$/, "").replace(/^http/, "ws")}/api/dashboard/ws/${feed}`;
  const headers: Record<string, string> = {};
  if (ctx.target.token) headers.authorization = `Bearer ${ctx.target.token}`;
  const socket = new WebSocket(wsUrl, { headers, handshakeTimeout: ctx.target.timeoutMs });
  const runs = new Map<string, RunBar>();
  // On a terminal the bars stay at the bottom: erase them, print the event, draw them again.
  const live = ctx.interactive && !ctx.json;
  let barLines = 0;
  const redraw = (line?: string) => {
    if (live && barLines > 0) process.stdout.write(`\x1b[${barLines}A\x1b[J`);
    if (line !== undefined) ctx.out(line);
    if (live) {
      const bars = runBars(runs);
      for (const b of bars) ctx.out(b);
      barLines = bars.length;
    }
  };
  let events = 0;

  return await new Promise<CommandResult>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (error?: CliError) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on("error", () => {});
      socket.close();
      if (error) reject(error);
      else resolve({ data: null, text: "" });
    };
    if (forMs !== null) timer = setTimeout(() => finish(), forMs);
    void ctx.interrupted.then(() => finish());
    socket.on("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (c: Buffer) => {
        text += c.toString();
      });
      res.on("end", () => {
        let message = text;
        try {
          message = JSON.parse(text)?.error?.message ?? text;
        } catch {}
        const status = res.statusCode ?? 0;
        const code =
          status === 401 || status === 403 ? EXIT.auth : status === 503 ? EXIT.refused : EXIT.error;
        finish(new CliError(code, `feed refused: ${status} ${message}`));
      });
    });
    socket.on("error", (error) =>
      finish(new CliError(EXIT.unreachable, `cannot reach ${wsUrl}: ${(error as Error).message}`)),
    );
    socket.on("close", () => finish(new CliError(EXIT.unreachable, "the daemon closed the feed")));
    socket.on("message", (raw) => {
      let msg: FeedMessage;
      try {
        msg = JSON.parse(raw.toString());
      } catch {
        return;
      }
      if (ctx.json) ctx.out(JSON.stringify(msg));
      if (msg?.type === "snapshot") {
        const running =
          msg.data?.coordination?.runs ?? (feed === "coordination" ? msg.data?.runs : undefined);
        for (const r of Array.isArray(running) ? running : []) {
          runs.set(r.id, { template: r.template, percent: Number(r.percent ?? 0), state: r.state });
        }
        if (!ctx.json) redraw(`connected to ${feed}: ${runs.size} running pipeline run(s)`);
        return;
      }
      if (msg?.type !== "event" || !msg.event) return;
      const e = msg.event;
      const runId = String(e.runId);
      if (e.type === "pipeline.run.started") {
        runs.set(runId, { template: String(e.template), percent: 0, state: "running" });
      } else if (e.type === "pipeline.run.progress" && runs.has(runId)) {
        (runs.get(runId) as RunBar).percent = Number(e.percent);
      } else if (FINAL_RUN_EVENTS.has(e.type)) runs.delete(runId);
      if (!ctx.json) {
        // Without a terminal to redraw on, each progress event carries its own bar.
        const bar = e.type === "pipeline.run.progress" && !live ? `  ${progressBar(Number(e.percent))}` : "";
        redraw(`${eventLine(e)}${bar}`);
      }
      events++;
      if (events >= maxEvents) finish();
    });
  });
}
