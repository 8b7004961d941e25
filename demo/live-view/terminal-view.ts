import { writeSync } from "node:fs";

/** The ANSI sequences the view uses: nothing a terminal of the last thirty years lacks. */
const HOME = "\x1b[H";
const CLEAR_SCREEN = "\x1b[2J";
const CLEAR_LINE_END = "\x1b[K";
const CLEAR_BELOW = "\x1b[J";
const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";

export interface TerminalViewOptions {
  out: NodeJS.WriteStream & { fd: number };
  /** The frame for a terminal of this size (render-view.ts). */
  frame: (width: number, height: number) => string[];
  everyMs?: number;
  /** Printed below the last frame as the process exits (where the logs are). */
  farewell: (exitCode: number) => string;
}

/**
 * Redraws the view in place on the main screen (cursor home, each line cleared to its end, the rest
 * of the screen cleared), about once a second and on resize, so the banner never scrolls away. The
 * main screen rather than the alternate one: the last frame, with its URLs and tokens, stays readable
 * after the demo stops. On exit the last frame, the cursor and the farewell are written synchronously.
 */
export function startTerminalView(o: TerminalViewOptions): { draw(): void } {
  const size = () => ({ width: o.out.columns || 80, height: o.out.rows || 24 });
  const frameText = (spare = 1) => {
    const { width, height } = size();
    // A line spare at the bottom: a stray line on stderr then does not scroll the banner off.
    const lines = o.frame(width, Math.max(1, height - spare));
    return HOME + lines.map((l) => l + CLEAR_LINE_END).join("\r\n") + CLEAR_BELOW;
  };
  const draw = () => {
    o.out.write(frameText());
  };
  const redraw = () => {
    o.out.write(HOME + CLEAR_SCREEN);
    draw();
  };
  o.out.write(HIDE_CURSOR);
  redraw();
  const timer = setInterval(draw, o.everyMs ?? 1_000);
  timer.unref();
  o.out.on("resize", redraw);
  const restore = (code: number) => {
    // The process is exiting: only synchronous writes still reach the terminal. The last frame
    // shows the drain's events (agents leaving) that came after the last tick.
    // Three spare: the farewell and the shell's prompt below it keep the banner's first line on screen.
    writeSync(o.out.fd, `${frameText(3)}${SHOW_CURSOR}\r\n${o.farewell(code)}\n`);
  };
  process.once("exit", restore);
  return { draw };
}
