// The real livekit-server for tests: the pinned binary from .cache/livekit/bin, started from
// sfu-config/livekit.yaml (or a given config) with its ports moved to free loopback ports, so several
// servers (and several test suites) can run at once. Keys are fresh per server and passed through the
// environment, never on the command line where `ps` would show them.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort, waitUntil } from "./ports";
import { terminate } from "./process";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The pinned server version; scripts/ensure-livekit.sh installs exactly this. */
export const LIVEKIT_VERSION = "1.13.5";
export const LIVEKIT_BIN =
  process.env.LIVEKIT_SERVER_BIN ??
  fileURLToPath(new URL("../../.cache/livekit/bin/server", import.meta.url));
export const DEV_CONFIG = fileURLToPath(new URL("../../sfu-config/livekit.yaml", import.meta.url));

export interface StartLiveKitOptions {
  /** Run in distributed mode against this Redis (LiveKit's multi-node setup). */
  redis?: { host: string; port: number };
  /** Config file to start from; defaults to sfu-config/livekit.yaml. Its ports are overridden. */
  configFile?: string;
  /** API key pair; fresh random ones by default. Nodes sharing a Redis should share keys. */
  keys?: { apiKey: string; apiSecret: string };
  /** Extra environment (e.g. a deployment's overrides); LIVEKIT_KEYS is always ours. */
  env?: Record<string, string>;
  /** Extra flags after ours (a later flag wins), e.g. to move TURN ports to free ones. */
  args?: string[];
  /**
   * The ports to listen on; free ones by default. A restart on the same ports (test/chaos) passes
   * the `ports` and keys of the server it replaces, so clients find it where the old one was.
   */
  ports?: LiveKitPorts;
}

/** The three loopback ports one server listens on. */
export interface LiveKitPorts {
  /** Signalling and HTTP. */
  port: number;
  /** ICE over TCP. */
  tcpPort: number;
  /** ICE over UDP (one muxed port). */
  udpPort: number;
}

export interface RunningLiveKit {
  /** Signalling URL for clients, ws://127.0.0.1:port */
  url: string;
  /** The same port over HTTP, for RoomServiceClient */
  httpUrl: string;
  apiKey: string;
  apiSecret: string;
  ports: LiveKitPorts;
  /** Recent server output, for failure messages. */
  logs(): string;
  /**
   * SIGTERM: the server drains (takes no new participant; 1.13.5 sends its clients no leave and
   * waits for them to go), then SIGKILL after 5 s if it has not exited (process.ts).
   */
  stop(): Promise<void>;
  /** SIGKILL: the server vanishes without a word, as a crash or a lost machine would. */
  kill(): Promise<void>;
}

/** A free port can be taken by another suite between our check and the server's bind. */
const ATTEMPTS = 3;

class PortTaken extends Error {}

/** Starts livekit-server on free loopback ports and resolves once it answers HTTP. */
export async function startLiveKit(opts: StartLiveKitOptions = {}): Promise<RunningLiveKit> {
  if (!existsSync(LIVEKIT_BIN)) {
    throw new Error(
      `livekit-server not found at ${LIVEKIT_BIN}. Run \`npm run livekit:install\` (needs Go) to install v${LIVEKIT_VERSION}.`,
    );
  }
  const keys = opts.keys ?? randomKeys();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, keys);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt >= ATTEMPTS) throw error;
      // Fixed ports: the server it replaces may hold them a moment longer.
      if (opts.ports) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

async function startOnce(
  opts: StartLiveKitOptions,
  { apiKey, apiSecret }: { apiKey: string; apiSecret: string },
): Promise<RunningLiveKit> {
  const configFile = opts.configFile ?? DEV_CONFIG;
  const { port, tcpPort, udpPort } = opts.ports ?? {
    port: await freePort(),
    tcpPort: await freePort(),
    udpPort: await freeUdpPort(),
  };

  const args = [
    "--config",
    configFile,
    "--bind",
    "127.0.0.1",
    "--node-ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--rtc.tcp_port",
    String(tcpPort),
    "--udp-port",
    String(udpPort),
  ];
  if (opts.redis) args.push("--redis-host", `${opts.redis.host}:${opts.redis.port}`);
  args.push(...(opts.args ?? []));

  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  const child = spawn(LIVEKIT_BIN, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env, LIVEKIT_KEYS: `${apiKey}: ${apiSecret}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const logs = () => output.join("");
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    await terminate(child);
  };
  const kill = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await gone;
  };

  const httpUrl = `http://127.0.0.1:${port}`;
  // livekit-server reports a startup error (bad config, busy port) and exits, with status 0; notice
  // the exit instead of waiting out the timeout.
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  try {
    await waitUntil(
      `livekit-server on ${httpUrl}`,
      async () => {
        if (exited) return true;
        const response = await fetch(httpUrl, { signal: AbortSignal.timeout(1000) });
        return response.ok;
      },
      30_000,
    );
    if (exited) throw new Error("livekit-server exited before answering");
  } catch (error) {
    await stop();
    const reason = error instanceof Error ? error.message : String(error);
    const message = `could not start livekit-server from ${configFile}: ${reason}\n${logs()}`;
    throw logs().includes("address already in use") ? new PortTaken(message) : new Error(message);
  }
  return {
    url: `ws://127.0.0.1:${port}`,
    httpUrl,
    apiKey,
    apiSecret,
    ports: { port, tcpPort, udpPort },
    logs,
    stop,
    kill,
  };
}

/** A fresh API key pair; the secret has 32+ characters, below which livekit-server logs an error. */
export function randomKeys(): { apiKey: string; apiSecret: string } {
  return {
    apiKey: `test-${randomBytes(6).toString("hex")}`,
    apiSecret: randomBytes(32).toString("base64url"),
  };
}

/** Asks the OS for a UDP port that is free on 127.0.0.1 right now. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}
