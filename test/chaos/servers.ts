// The servers of one chaos file: livekit-server and the Worker (wrangler dev), each on loopback
// ports kept for the file, so a test can kill one (SIGKILL: a crash, no goodbye to any client) and
// start it again where the clients expect it: the SFU with the same API keys and config, the Worker
// with the same vars (its Durable Object state starts empty, as after a reset).
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import {
  type LiveKitPorts,
  type RunningLiveKit,
  randomKeys,
  startLiveKit,
} from "../support/livekit";
import { type StartedWorker, startWorker } from "../support/worker";

export interface ChaosServers {
  /** The Worker's origin, serving the app and /v1. */
  origin: string;
  /** The SFU's signalling URL. */
  livekitUrl: string;
  /** The SFU's ports (signalling, ICE over TCP, ICE over UDP), the same across restarts. */
  sfuPorts: LiveKitPorts;
  /** SIGKILL to livekit-server. */
  killSfu(): Promise<void>;
  /**
   * SIGTERM to livekit-server (as Ctrl-C of `npm run sfu`). livekit-server 1.13.5 then drains: it
   * takes no new participant but keeps the call, sends no leave, and waits for everyone to go; the
   * stop kills it after 5 s (support/process.ts), so clients lose it 5 s later, without a goodbye.
   */
  stopSfu(): Promise<void>;
  /** Starts livekit-server again on the same ports with the same keys; resolves once it answers. */
  startSfu(): Promise<void>;
  /** SIGKILL to wrangler and workerd. */
  killWorker(): Promise<void>;
  /** Starts the Worker again on the same port; resolves once /v1/health answers. */
  startWorker(): Promise<void>;
  /** Recent SFU output, for failure messages. */
  sfuLogs(): string;
  stop(): Promise<void>;
}

export interface ChaosServerOptions {
  /** Worker vars on top of the LiveKit ones (e.g. a shorter HEARTBEAT_TIMEOUT_SECONDS). */
  vars?: Record<string, string>;
}

export async function startChaosServers(opts: ChaosServerOptions = {}): Promise<ChaosServers> {
  const keys = randomKeys();
  let livekit: RunningLiveKit | undefined = await startLiveKit({ keys });
  const ports = livekit.ports;
  const url = livekit.url;
  const vars = {
    LIVEKIT_URL: url,
    LIVEKIT_API_KEY: keys.apiKey,
    LIVEKIT_API_SECRET: keys.apiSecret,
    ...opts.vars,
  };
  let worker: StartedWorker | undefined;
  try {
    // A copy of worker/ and web/dist: someone rebuilding the app or editing the Worker must not
    // restart this wrangler in the middle of a test (that would be a restart no test asked for).
    worker = await startWorker({ vars, snapshot: true });
  } catch (error) {
    await livekit.stop();
    throw error;
  }
  const port = worker.port;
  const origin = worker.origin;
  let lastLogs = "";
  return {
    origin,
    livekitUrl: url,
    sfuPorts: ports,
    async killSfu() {
      lastLogs = livekit?.logs() ?? lastLogs;
      await livekit?.kill();
      livekit = undefined;
    },
    async stopSfu() {
      const stopping = livekit;
      livekit = undefined;
      await stopping?.stop();
      // Read after it exited, so the logs include what it did while it drained.
      lastLogs = stopping?.logs() ?? lastLogs;
    },
    async startSfu() {
      if (livekit) throw new Error("the SFU is still running");
      livekit = await startLiveKit({ keys, ports });
    },
    async killWorker() {
      await worker?.kill();
      worker = undefined;
    },
    async startWorker() {
      if (worker) throw new Error("the Worker is still running");
      worker = await startWorker({ vars, snapshot: true, port });
    },
    sfuLogs: () => livekit?.logs() ?? lastLogs,
    async stop() {
      await Promise.allSettled([worker?.stop(), livekit?.stop()]);
    },
  };
}

export interface CpuHog {
  /** Ends every busy process and resolves once they are gone. */
  stop(): Promise<void>;
}

/**
 * One busy Node process per core (`cores`, default all), each spinning until `stop()` or at the
 * latest `maxMs` after the start (it checks the clock itself, so a test that dies leaves no spinner
 * behind for long): the "CPU hog loading the machine during the restart" of issue 15. The spinners
 * run at the default priority, competing with Chromium, livekit-server and workerd for every core.
 */
export function startCpuHog(opts: { cores?: number; maxMs?: number } = {}): CpuHog {
  const cores = opts.cores ?? availableParallelism();
  const maxMs = opts.maxMs ?? 60_000;
  const spin = `const end = Date.now() + ${maxMs}; while (Date.now() < end) {}`;
  const children = Array.from({ length: cores }, () =>
    spawn(process.execPath, ["-e", spin], { stdio: "ignore" }),
  );
  return {
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once("exit", () => resolve());
              child.kill("SIGKILL");
            }),
        ),
      );
    },
  };
}
