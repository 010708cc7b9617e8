// The real Worker for benchmarks, started from a snapshot. `wrangler dev` watches its sources and
// its assets directory and restarts workerd on any change, which drops every open WebSocket (1006):
// on a checkout where others edit worker/ or rebuild web/dist, a benchmark would measure reloads.
// So this copies worker/ and web/dist into a temporary directory (node_modules linked, not copied)
// and runs the same `wrangler dev` command there as test/support/worker.ts does.
import { type ChildProcess, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../support/livekit";
import { freePort, waitUntil } from "../support/ports";
import type { StartedWorker } from "../support/worker";

const STARTUP_TIMEOUT_MS = 120_000;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

export async function startSnapshotWorker(vars: Record<string, string>): Promise<StartedWorker> {
  const root = mkdtempSync(join(tmpdir(), "hush-bench-worker-"));
  cpSync(join(REPO_ROOT, "worker"), join(root, "worker"), {
    recursive: true,
    filter: (source) => !source.includes(".wrangler") && !source.includes("node_modules"),
  });
  const dist = join(REPO_ROOT, "web", "dist");
  mkdirSync(join(root, "web", "dist"), { recursive: true });
  if (existsSync(dist)) cpSync(dist, join(root, "web", "dist"), { recursive: true });
  else writeFileSync(join(root, "web", "dist", "index.html"), "<!doctype html><title>Hush</title>");
  symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"), "dir");

  const port = await freePort();
  const inspectorPort = await freePort();
  const child = spawn(
    join(REPO_ROOT, "node_modules", ".bin", "wrangler"),
    [
      "dev",
      "--config",
      join(root, "worker", "wrangler.jsonc"),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      join(root, "state"),
      "--show-interactive-dev-session=false",
      ...Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
    ],
    {
      cwd: root,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_LOG_PATH: join(root, "logs"),
        FORCE_COLOR: "0",
      },
    },
  );
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-6_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const onExit = () => killGroup(child, "SIGKILL");
  process.once("exit", onExit);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", onExit);
    killGroup(child, "SIGTERM");
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5_000);
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 8_000))]);
    clearTimeout(timer);
    killGroup(child, "SIGKILL");
    rmSync(root, { recursive: true, force: true });
  };
  const origin = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(
      `wrangler dev on ${origin}`,
      async () =>
        (await fetch(`${origin}/v1/health`, { signal: AbortSignal.timeout(2_000) })).status === 200,
      STARTUP_TIMEOUT_MS,
      200,
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- wrangler output (tail) ---\n${output}`);
  }
  return {
    origin,
    wsUrl: (roomId: string) => `ws://127.0.0.1:${port}/v1/rooms/${roomId}/ws`,
    stop,
  };
}
