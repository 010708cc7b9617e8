// The pieces behind `npm run sfu` and `npm start` that can run beside other suites (the scripts
// themselves use the fixed ports 7880-7882/8787, so they are exercised by hand, not here): the port
// check, the supervisor's bounded waits and clean stops, and the refusal of bad settings.
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { readSfuPorts } from "../../scripts/local-sfu";
import { busyPorts } from "../../scripts/port-check";
import { startPart, stopAll, waitUntilAnswers } from "../../scripts/supervisor";
import { REPO_ROOT } from "../support/livekit";
import { freePort } from "../support/ports";

afterEach(async () => {
  await stopAll();
});

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

describe("local system scripts", () => {
  it("read the fixed local ports from sfu-config/livekit.yaml", () => {
    expect(readSfuPorts()).toEqual({ signal: 7880, rtcTcp: 7881, rtcUdp: 7882 });
  });

  it("name a busy port and pass a free one", async () => {
    const port = await freePort();
    const holder = await listen(port);
    try {
      const busy = await busyPorts([
        { what: "the Worker", port, protocol: "tcp", host: "127.0.0.1" },
      ]);
      expect(busy).toEqual([
        `port 127.0.0.1:${port}/tcp for the Worker is already in use (another \`npm start\` or server?)`,
      ]);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    expect(await busyPorts([{ what: "x", port, protocol: "tcp", host: "127.0.0.1" }])).toEqual([]);
  });

  it("report a part that exits before answering, with its output, instead of waiting", async () => {
    const part = startPart("broken", process.execPath, [
      "-e",
      "console.error('listen EADDRINUSE'); process.exit(0)",
    ]);
    const started = Date.now();
    await expect(waitUntilAnswers(part, "http://127.0.0.1:9/", 30_000)).rejects.toThrow(
      /broken exited with status 0 before answering/,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(part.tail()).toContain("listen EADDRINUSE");
  });

  it("wait for a part to answer, then stop it together with the processes it spawned", async () => {
    const port = await freePort();
    // A parent that spawns a grandchild HTTP server, like wrangler spawning workerd.
    const grandchild = `require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`;
    const part = startPart("tree", process.execPath, [
      "-e",
      `require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'inherit' }); setInterval(() => {}, 1000)`,
    ]);
    await waitUntilAnswers(part, `http://127.0.0.1:${port}/`, 20_000);
    await stopAll();
    expect(await part.exited).toMatch(/stopped by SIGTERM|exited/);
    // The grandchild is gone too: its port is free again.
    expect(
      await busyPorts([{ what: "grandchild", port, protocol: "tcp", host: "127.0.0.1" }]),
    ).toEqual([]);
  });

  it("npm start refuses LIVEKIT_URL without its key and secret, before starting anything", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        ...process.env,
        LIVEKIT_URL: "wss://sfu.example.org",
        LIVEKIT_API_KEY: "",
        LIVEKIT_API_SECRET: "",
      },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("LIVEKIT_API_KEY must be set along with LIVEKIT_URL");
    expect(result.stdout).not.toContain("building the web app");
  });
});
