// Starts the real signalling Worker with `wrangler dev` (the same config `npm run dev:worker` uses)
// for tests that talk to it over loopback. Each instance gets its own free ports and its own fresh
// persistence directory, so suites can run side by side; stop() kills wrangler's whole process tree.
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureWebDist } from "../../scripts/ensure-web-dist";
import { freePort, waitUntil } from "./ports";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WRANGLER = join(REPO, "node_modules", ".bin", "wrangler");
const CONFIG = join(REPO, "worker", "wrangler.jsonc");
const STARTUP_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 5_000;
const OUTPUT_TAIL_CHARS = 6_000;

export interface StartedWorker {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  /** ws://127.0.0.1:41234/v1/rooms/{roomId}/ws */
  wsUrl(roomId: string): string;
  /** The port it listens on (a restart on the same port passes it as `port`). */
  port: number;
  /** Kills wrangler and workerd; safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL to wrangler and workerd at once, no grace: a crash, not a shutdown. */
  kill(): Promise<void>;
  /** The process group of wrangler, esbuild and workerd (the benchmarks read workerd's memory). */
  processGroup: number | undefined;
}

export interface StartWorkerOptions {
  /**
   * Overrides of the Worker vars in worker/wrangler.jsonc (e.g. ROOM_CAPACITY, LIVEKIT_URL).
   * CLIENT_CONNECT_LIMIT defaults to "off" here: every local client shares one address.
   */
  vars?: Record<string, string>;
  /** How long to wait for GET /v1/health (default 90 s). */
  timeoutMs?: number;
  /**
   * Run from a copy of worker/ and web/dist. `wrangler dev` restarts workerd whenever its sources
   * or assets change, dropping every WebSocket; long runs (benchmarks) on a checkout where someone
   * edits worker/ or rebuilds the app must not measure those restarts.
   */
  snapshot?: boolean;
  /** The port to listen on; a free one by default (a restart on the same port passes the old one). */
  port?: number;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || exited(child)) return;
  try {
    // Negative pid: the whole process group (wrangler, esbuild, workerd), created by `detached`.
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Copies worker/, protocol/ and web/dist under `dir`, node_modules linked; returns the copy's wrangler config. */
function snapshotInto(dir: string): string {
  cpSync(join(REPO, "worker"), join(dir, "worker"), {
    recursive: true,
    filter: (source) => !source.includes(".wrangler"),
  });
  // The wire schema the Worker imports lives beside it, shared with the client.
  cpSync(join(REPO, "protocol"), join(dir, "protocol"), { recursive: true });
  cpSync(join(REPO, "web", "dist"), join(dir, "web", "dist"), { recursive: true });
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
  return join(dir, "worker", "wrangler.jsonc");
}

export async function startWorker(opts: StartWorkerOptions = {}): Promise<StartedWorker> {
  ensureWebDist();
  const port = opts.port ?? (await freePort());
  const inspectorPort = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), "hush-worker-"));
  const config = opts.snapshot ? snapshotInto(join(stateDir, "snapshot")) : CONFIG;
  // Every client of a test or benchmark is 127.0.0.1, i.e. one client to the per-client upgrade
  // limit; it is off unless a caller asks for it (test/protocol/abuse.test.ts does).
  const vars = { CLIENT_CONNECT_LIMIT: "off", ...opts.vars };
  const varArgs = Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]);
  const child = spawn(
    WRANGLER,
    [
      "dev",
      "--config",
      config,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      join(stateDir, "state"),
      "--show-interactive-dev-session=false",
      ...varArgs,
    ],
    {
      cwd: opts.snapshot ? join(stateDir, "snapshot") : REPO,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        // No network: do not try to download the Request.cf placeholder.
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_LOG_PATH: join(stateDir, "logs"),
        FORCE_COLOR: "0",
      },
    },
  );

  let output = "";
  const record = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on("data", record);
  child.stderr?.on("data", record);
  const exit = new Promise<void>((resolveExit) => {
    if (exited(child)) resolveExit();
    else child.once("exit", () => resolveExit());
  });
  // If the test runner dies without calling stop(), do not leave workerd behind.
  const onProcessExit = () => killTree(child, "SIGKILL");
  process.once("exit", onProcessExit);

  let stopped = false;
  const halt = async (signal: NodeJS.Signals) => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", onProcessExit);
    killTree(child, signal);
    const timer = setTimeout(() => killTree(child, "SIGKILL"), STOP_GRACE_MS);
    await exit;
    clearTimeout(timer);
    // workerd may outlive wrangler for a moment; make sure the group is gone.
    killTree(child, "SIGKILL");
    rmSync(stateDir, { recursive: true, force: true });
  };
  const stop = () => halt("SIGTERM");
  const kill = () => halt("SIGKILL");

  const origin = `http://127.0.0.1:${port}`;
  try {
    const healthy = waitUntil(
      `wrangler dev on ${origin}/v1/health`,
      async () => {
        const response = await fetch(`${origin}/v1/health`, { signal: AbortSignal.timeout(2_000) });
        return response.status === 200;
      },
      opts.timeoutMs ?? STARTUP_TIMEOUT_MS,
      200,
    );
    const died = exit.then(() => {
      throw new Error(`wrangler exited early (code ${child.exitCode}, signal ${child.signalCode})`);
    });
    await Promise.race([healthy, died]);
    // A browser's first navigation to a just-started Worker once did not reach "load" within 30 s
    // on a loaded CI machine. The health check does not touch the assets path the app's page comes
    // from, so one request to it here, whatever it answers, readies that path before any test.
    await Promise.race([
      fetch(`${origin}/`, { signal: AbortSignal.timeout(opts.timeoutMs ?? STARTUP_TIMEOUT_MS) })
        .then((response) => response.arrayBuffer())
        .catch(() => undefined),
      died,
    ]);
    died.catch(() => {});
  } catch (err) {
    await stop();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `could not start the Worker: ${reason}\n--- wrangler output (tail) ---\n${output}`,
    );
  }

  return {
    origin,
    wsUrl: (roomId: string) => `ws://127.0.0.1:${port}/v1/rooms/${roomId}/ws`,
    port,
    stop,
    kill,
    processGroup: child.pid,
  };
}
