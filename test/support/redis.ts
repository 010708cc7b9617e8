// A throwaway Redis for tests that run LiveKit in distributed mode (several nodes sharing one Redis).
// Debian's redis-server on a free loopback port, nothing written to disk, killed in stop().
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createConnection } from "node:net";
import { freePort, waitUntil } from "./ports";
import { terminate } from "./process";

const REDIS_BIN = process.env.REDIS_SERVER_BIN ?? "/usr/bin/redis-server";

export interface RunningRedis {
  host: string;
  port: number;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Require this password (AUTH), as the production setups do. */
  password?: string;
}

/** Starts redis-server on 127.0.0.1 on a free port, without persistence, and waits until it PONGs. */
export async function startRedis(opts: StartRedisOptions = {}): Promise<RunningRedis> {
  if (!existsSync(REDIS_BIN)) {
    throw new Error(
      `redis-server not found at ${REDIS_BIN}: install it (Debian: apt-get install redis-server) or set REDIS_SERVER_BIN`,
    );
  }
  const host = "127.0.0.1";
  const port = await freePort();
  const output: string[] = [];
  // No RDB snapshots, no AOF, no config file: a test Redis keeps nothing after it exits.
  const child = spawn(
    REDIS_BIN,
    [
      "--bind",
      host,
      "--port",
      String(port),
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      "/tmp",
      "--protected-mode",
      "yes",
      "--loglevel",
      "warning",
      ...(opts.password ? ["--requirepass", opts.password] : []),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 50) output.shift();
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    await terminate(child);
  };
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  try {
    await waitUntil(
      `redis-server on ${host}:${port}`,
      async () => exited || ping(host, port, opts.password),
      15_000,
    );
    if (exited) throw new Error("redis-server exited before answering");
  } catch (error) {
    await stop();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`could not start redis-server: ${reason}\n${output.join("")}`);
  }
  return { host, port, stop };
}

/** Sends PING (after AUTH) and resolves true on +PONG; false on any error, within one second. */
function ping(host: string, port: number, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    // Inline commands; with AUTH first the answers are "+OK" then "+PONG".
    socket.once("connect", () =>
      socket.write(password ? `AUTH ${password}\r\nPING\r\n` : "PING\r\n"),
    );
    let answer = "";
    socket.on("data", (data) => {
      answer += data.toString();
      if (answer.includes("+PONG")) done(true);
      else if (answer.includes("-")) done(false);
    });
  });
}
