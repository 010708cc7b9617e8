// Runs the parts of the local system as child processes: starts each in its own process group (so
// stopping it also stops what it spawned, e.g. wrangler's workerd), keeps the tail of its output for
// error messages, waits boundedly until it answers over HTTP, and stops everything it started.
import { type ChildProcess, spawn } from "node:child_process";

const KEPT_LINES = 60;
const STOP_GRACE_MS = 5000;

export interface Part {
  name: string;
  child: ChildProcess;
  /** Resolves when the process has exited, with a description of how. */
  exited: Promise<string>;
  /** The last lines it printed. */
  tail(): string;
}

export interface PartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Stream its output (prefixed with the part's name) instead of keeping it quiet. */
  verbose?: boolean;
}

// Every part ever started: a group's leader may exit while what it spawned still runs, so stopping
// signals every group, not only those whose leader is alive.
const started: Part[] = [];

// If we die without running stopAll (an uncaught error), still take our process groups with us.
process.on("exit", () => {
  for (const part of started) killGroup(part, "SIGKILL");
});

export function startPart(
  name: string,
  command: string,
  args: string[],
  options: PartOptions = {},
): Part {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (line.trim() === "") continue;
      lines.push(line);
      if (lines.length > KEPT_LINES) lines.shift();
      if (options.verbose) process.stdout.write(`[${name}] ${line}\n`);
    }
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<string>((resolve) => {
    child.once("error", (error) => resolve(`could not be started: ${error.message}`));
    child.once("exit", (code, signal) =>
      resolve(signal ? `was stopped by ${signal}` : `exited with status ${code}`),
    );
  });
  const part: Part = { name, child, exited, tail: () => lines.join("\n") };
  started.push(part);
  return part;
}

/**
 * Polls `url` until `accept` approves an answer. Throws when the part exits first or when
 * `timeoutMs` passes, so a part that never comes up can never hang the caller.
 */
export async function waitUntilAnswers(
  part: Part,
  url: string,
  timeoutMs: number,
  accept: (response: Response) => boolean = (response) => response.ok,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: string | undefined;
  void part.exited.then((how) => {
    gone = how;
  });
  for (;;) {
    if (gone) throw new Error(`${part.name} ${gone} before answering at ${url}`);
    const answered = await fetch(url, { signal: AbortSignal.timeout(2000) })
      .then(accept)
      .catch(() => false);
    if (answered) return;
    if (Date.now() > deadline) {
      throw new Error(`${part.name} did not answer at ${url} within ${timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Stops every part: SIGTERM to its whole process group, SIGKILL to whatever is left after a grace
 * period. Resolves once the groups are gone (a leader such as wrangler may exit before what it
 * spawned, such as workerd, so its exit alone does not mean its port is free).
 */
export async function stopAll(): Promise<void> {
  const parts = [...started];
  for (const part of parts) killGroup(part, "SIGTERM");
  const deadline = Date.now() + STOP_GRACE_MS;
  await Promise.all(parts.map((part) => groupGone(part, deadline)));
  for (const part of parts) killGroup(part, "SIGKILL");
  await Promise.all(parts.map((part) => groupGone(part, Date.now() + 1000)));
}

/** Polls until the part's leader has exited and no process is left in its group, or `deadline`. */
async function groupGone(part: Part, deadline: number): Promise<void> {
  const pid = part.child.pid;
  if (pid === undefined) return;
  let leaderGone = false;
  void part.exited.then(() => {
    leaderGone = true;
  });
  while (Date.now() < deadline) {
    if (leaderGone && !groupExists(pid)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function groupExists(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(part: Part, signal: NodeJS.Signals): void {
  const pid = part.child.pid;
  if (pid === undefined) return;
  try {
    // Negative pid: the whole process group the part leads (detached: true made it a leader).
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
