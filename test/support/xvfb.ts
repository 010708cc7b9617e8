// Debian's Xvfb, a virtual X display for a headed Firefox: headless Firefox has no screen to
// capture (getDisplayMedia answers NotFoundError), a headed one on Xvfb shares this display.
// Local clients only (no TCP listener), a display number Xvfb picks itself, killed in stop() and
// when the test process exits.
import { spawn } from "node:child_process";
import { terminate } from "./process";

export const XVFB_BIN = process.env.XVFB_BIN ?? "/usr/bin/Xvfb";

const READY_TIMEOUT_MS = 15_000;

export interface RunningXvfb {
  /** The DISPLAY value for clients, e.g. ":99". */
  display: string;
  stop(): Promise<void>;
}

/**
 * Starts a `width`x`height` display with a white root window (`-wr`), so that whatever the screen
 * shows around the windows on it is not black either.
 */
export async function startXvfb(width = 1280, height = 720): Promise<RunningXvfb> {
  // -displayfd: Xvfb takes the first free display number and writes it to fd 3 once clients can
  // connect, so there is no guessing at numbers or polling for the socket.
  const child = spawn(
    XVFB_BIN,
    [
      "-displayfd",
      "3",
      "-screen",
      "0",
      `${width}x${height}x24`,
      "-nolisten",
      "tcp",
      "-wr",
      "-noreset",
    ],
    { stdio: ["ignore", "ignore", "pipe", "pipe"] },
  );
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    await terminate(child);
  };
  const log: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => {
    log.push(chunk.toString());
    if (log.length > 50) log.shift();
  });
  const announced = child.stdio[3];
  try {
    const number = await new Promise<string>((resolve, reject) => {
      let text = "";
      const timer = setTimeout(
        () => reject(new Error(`Xvfb gave no display within ${READY_TIMEOUT_MS} ms`)),
        READY_TIMEOUT_MS,
      );
      announced?.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes("\n")) {
          clearTimeout(timer);
          resolve(text.trim());
        }
      });
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`Xvfb exited (${signal ?? code}) before giving a display`));
      });
    });
    if (!/^\d+$/.test(number)) throw new Error(`Xvfb announced display "${number}"`);
    return { display: `:${number}`, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${log.join("")}`);
  }
}
