// Stopping a server a test started: politely first (livekit-server and Redis drain on SIGTERM), then
// for certain, so a hung server never outlives its suite.
import type { ChildProcess } from "node:child_process";

const GRACE_MS = 5000;

/** SIGTERM, then SIGKILL if the process has not exited within the grace period. */
export async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), GRACE_MS);
  await exited;
  clearTimeout(timer);
}
