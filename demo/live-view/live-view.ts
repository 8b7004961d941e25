import { type ApiFigures, readApiFigures } from "./api-figures.ts";
import type { FleetTally } from "./fleet-tally.ts";
import { renderView, type ViewState } from "./render-view.ts";
import { startTerminalView } from "./terminal-view.ts";

export interface LiveViewOptions {
  url: string;
  viewerToken: string;
  operatorToken: string;
  /** As shown on screen. */
  logFile: string;
  startedAt: number;
  /** Subscribed to the daemon's event bus by the caller. */
  tally: FleetTally;
  everyMs?: number;
}

/**
 * The demo's terminal view: reads the figures from the daemon's API about once a second (one read
 * at a time; a failed read keeps the last figures and says why), takes the rates and notable
 * events from the tally, and redraws. Ctrl-C and SIGTERM show "draining" until the process exits.
 */
export function startLiveView(o: LiveViewOptions): void {
  const everyMs = o.everyMs ?? 1_000;
  let figures: ApiFigures | null = null;
  let figuresError: string | null = null;
  let reading = false;
  let status: ViewState["status"] = "running";
  const read = async () => {
    if (reading) return;
    reading = true;
    try {
      figures = await readApiFigures(o.url, o.viewerToken);
      figuresError = null;
    } catch (error) {
      figuresError = (error as Error).message;
    } finally {
      reading = false;
    }
  };
  void read();
  const poll = setInterval(() => void read(), everyMs);
  poll.unref();
  // Before the view's own exit listener, which draws the last frame.
  process.once("exit", () => {
    status = "stopped";
  });
  const view = startTerminalView({
    out: process.stdout,
    everyMs,
    frame: (width, height) => {
      const now = Date.now();
      const state: ViewState = {
        url: o.url,
        viewerToken: o.viewerToken,
        operatorToken: o.operatorToken,
        logFile: o.logFile,
        startedAt: o.startedAt,
        now,
        status,
        figures,
        // While draining the API stops answering: expected, not news.
        figuresError: status === "running" ? figuresError : null,
        tally: o.tally.snapshot(now),
      };
      return renderView(state, width, height);
    },
    farewell: (code) => `Overseer demo stopped (exit code ${code}). Its JSON logs: ${o.logFile}`,
  });
  // Said at once: a drain can be over before the next tick.
  const draining = () => {
    status = "draining";
    view.draw();
  };
  process.once("SIGINT", draining);
  process.once("SIGTERM", draining);
}
