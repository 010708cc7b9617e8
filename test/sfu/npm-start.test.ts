// `npm start` end to end, as far as it can run beside other suites: pointed at a test SFU through
// LIVEKIT_URL (the local SFU's ports are fixed) and told to use a free Worker port (HUSH_PORT) and the
// existing web/dist (rebuilding it would disturb suites serving it right now). It must come up, print
// one line per part, hand out tokens for that SFU, and stop everything on SIGINT.
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ServerMessage } from "../../protocol/signalling";
import { REPO_ROOT, type RunningLiveKit, startLiveKit } from "../support/livekit";
import { freePort } from "../support/ports";
import { randomId } from "../support/ids";

let sfu: RunningLiveKit | undefined;
let start: ChildProcess | undefined;
let output = "";

function killStart(signal: NodeJS.Signals) {
  if (start?.pid !== undefined && start.exitCode === null && start.signalCode === null) {
    try {
      process.kill(-start.pid, signal);
    } catch {
      // Already gone.
    }
  }
}

beforeAll(async () => {
  sfu = await startLiveKit();
});

afterAll(async () => {
  killStart("SIGKILL");
  await sfu?.stop();
});

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("npm start", () => {
  it("brings up the Worker against a given SFU, prints each part, and stops on SIGINT", async () => {
    if (!sfu) throw new Error("sfu not started");
    const port = await freePort();
    start = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        LIVEKIT_URL: sfu.url,
        LIVEKIT_API_KEY: sfu.apiKey,
        LIVEKIT_API_SECRET: sfu.apiSecret,
        HUSH_PORT: String(port),
        HUSH_SKIP_WEB_BUILD: "1",
      },
    });
    const exited = exitOf(start);
    start.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    start.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });

    const ready = await Promise.race([
      new Promise<boolean>((resolve) => {
        const poll = setInterval(() => {
          if (output.includes("Ready.")) {
            clearInterval(poll);
            resolve(true);
          }
        }, 100);
        void exited.then(() => clearInterval(poll));
      }),
      exited.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 150_000)),
    ]);
    expect(ready, `npm start did not get ready:\n${output}`).toBe(true);
    expect(output).toContain(`SFU      ${sfu.url}  (external, LIVEKIT_URL)`);
    expect(output).toContain(`Worker   http://127.0.0.1:${port}/v1`);
    expect(output).toContain(`Web app  http://127.0.0.1:${port}/`);
    // The secret went through a private file, not the command line.
    expect(start.spawnargs.join(" ")).not.toContain(sfu.apiSecret);

    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");

    // The Worker it started mints tokens for this SFU with its keys: the SFU accepts one.
    const socket = new WebSocket(`ws://127.0.0.1:${port}/v1/rooms/${randomId()}/ws`);
    const welcome = await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no welcome within 15 s")), 15_000);
      socket.once("error", reject);
      socket.once("open", () =>
        socket.send(
          JSON.stringify({
            type: "join",
            v: 1,
            participantId: randomId(),
            announcement: randomId(),
          }),
        ),
      );
      socket.once("message", (data) => {
        clearTimeout(timer);
        resolve(JSON.parse(data.toString()));
      });
    });
    socket.terminate();
    const message = ServerMessage.parse(welcome);
    if (message.type !== "welcome") throw new Error(`expected welcome, got ${message.type}`);
    expect(message.livekit.url).toBe(sfu.url);
    const accepted = await fetch(
      `${sfu.httpUrl}/rtc/validate?access_token=${message.livekit.token}`,
    );
    expect(accepted.status).toBe(200);

    // Ctrl-C: everything it started goes away, and it exits cleanly.
    killStart("SIGINT");
    const code = await Promise.race([
      exited,
      new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 20_000)),
    ]);
    expect(code, output).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/v1/health`)).rejects.toThrow();
  }, 200_000);
});
