// CPU cost of end-to-end encryption in the browser: the same four-participant call (the plain
// livekit-client page in media-page/, fake camera and microphone, 320x180 at 15 fps) run once with
// livekit-client's frame encryption and once without, measuring the CPU time of every Chromium
// process over the same window. Each mode runs in several rounds, in turn (alternatingRounds), and
// the figures are each mode's median round: a single window of one mode moved by up to a fifth
// between runs on this machine.
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import { AccessToken } from "livekit-server-sdk";
import type { BrowserContext, Page } from "playwright-core";
import type { RunningBrowser } from "../support/browser";
import type { RunningLiveKit } from "../support/livekit";
import { cpuBetween, descendantCpu, threadCpuBetween, threadCpuByName } from "./cpu-time";
import { sleep } from "./fleet";
import { randomId } from "./raw-client";

const FILES: Record<string, { path: string; type: string }> = {
  "/": { path: "./media-page/index.html", type: "text/html" },
  "/cpu-page.js": { path: "./media-page/cpu-page.js", type: "text/javascript" },
  "/livekit-client.esm.mjs": {
    path: "../../node_modules/livekit-client/dist/livekit-client.esm.mjs",
    type: "text/javascript",
  },
  "/e2ee-worker.mjs": {
    path: "../../node_modules/livekit-client/dist/livekit-client.e2ee.worker.mjs",
    type: "text/javascript",
  },
  "/transform-worker.mjs": { path: "./media-page/transform-worker.js", type: "text/javascript" },
};

/** The web app's E2EE worker as `npm run build:web` wrote it (its name carries a content hash). */
function builtHushWorker(): string {
  const assets = new URL("../../web/dist/assets/", import.meta.url);
  const name = readdirSync(assets).find((file) => /^e2eeWorker-[\w-]+\.js$/.test(file));
  if (!name) throw new Error("web/dist has no built E2EE worker: run npm run build:web");
  return fileURLToPath(new URL(name, assets));
}

/**
 * What the page runs: livekit's E2EE ("e2ee"), the web app's own E2EE worker ("hush": livekit's
 * frame code inside our frame guard), no encoded transform ("off"), or livekit's encoded transform
 * with a pass-through worker in place of its E2EE worker ("transform"; no cipher).
 */
export type CpuMode = "e2ee" | "hush" | "transform" | "off";
const PAGE_MODE: Record<CpuMode, string> = {
  e2ee: "1",
  hush: "hush",
  transform: "transform",
  off: "0",
};

/** Serves the page and livekit-client's own bundles on a free loopback port. */
export async function servePage(): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    const file = FILES[path];
    try {
      const body =
        path === "/hush-worker.mjs"
          ? readFileSync(builtHushWorker())
          : file && readFileSync(fileURLToPath(new URL(file.path, import.meta.url)));
      if (!body) response.writeHead(404).end();
      else response.writeHead(200, { "content-type": file?.type ?? "text/javascript" }).end(body);
    } catch {
      response.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("page server has no port");
  return {
    origin: `http://127.0.0.1:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The bench page's address for one participant of `room`, with a token the page joins with. */
export async function benchPageUrl(opts: {
  livekit: RunningLiveKit;
  pageOrigin: string;
  room: string;
  identity: string;
  /** Everyone's identities in the room, for the web app's worker's key plan ("hush" mode). */
  peers?: string[];
  mode: CpuMode;
}): Promise<string> {
  const token = new AccessToken(opts.livekit.apiKey, opts.livekit.apiSecret, {
    identity: opts.identity,
    ttl: 600,
  });
  token.addGrant({ roomJoin: true, room: opts.room, canPublish: true, canSubscribe: true });
  const query = new URLSearchParams({
    e2ee: PAGE_MODE[opts.mode],
    url: opts.livekit.url,
    token: await token.toJwt(),
    self: opts.identity,
    peers: (opts.peers ?? []).join(","),
  });
  return `${opts.pageOrigin}/?${query}`;
}

export interface CpuRun {
  cpuMs: number;
  framesDecoded: number;
  /** The same window's CPU by browser thread name. */
  byThread: Map<string, number>;
}

/** One call of `participants` pages with E2EE on or off; CPU measured over `seconds` of steady state. */
export async function measureCallCpu(opts: {
  browser: RunningBrowser;
  livekit: RunningLiveKit;
  pageOrigin: string;
  participants: number;
  seconds: number;
  mode: CpuMode;
}): Promise<CpuRun> {
  const room = randomId();
  const contexts: BrowserContext[] = [];
  try {
    const pages: Page[] = [];
    const peers = Array.from({ length: opts.participants }, (_, i) => `bench-${i}`);
    for (const identity of peers) {
      const url = await benchPageUrl({ ...opts, room, identity, peers });
      const context = await opts.browser.newParticipant(opts.pageOrigin);
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(url, {
        waitUntil: "domcontentloaded",
        timeout: 90_000,
      });
      pages.push(page);
    }
    const frames = async () => {
      const counts = await Promise.all(
        pages.map((page) =>
          page.evaluate(() =>
            (
              window as unknown as { __bench: { framesDecoded(): Promise<number> } }
            ).__bench.framesDecoded(),
          ),
        ),
      );
      return counts;
    };
    // Steady state: every page keeps decoding video (from the three others once all are up).
    let ready = false;
    const deadline = performance.now() + 120_000;
    while (!ready && performance.now() < deadline) {
      const first = await frames();
      await sleep(2_000);
      const second = await frames();
      ready = second.every((count, i) => count > (first[i] ?? 0) && count > 60);
    }
    if (!ready) {
      throw new Error(`the ${opts.mode} call never decoded video on every page`);
    }
    await sleep(2_000);
    const framesBefore = await frames();
    const before = descendantCpu(process.pid, /chrom/i);
    const threadsBefore = threadCpuByName(before.keys());
    await sleep(opts.seconds * 1000);
    const after = descendantCpu(process.pid, /chrom/i);
    const threadsAfter = threadCpuByName(after.keys());
    const framesAfter = await frames();
    // A counter that went down belongs to a re-created receiver: count what it decoded since.
    const decoded = framesAfter.reduce(
      (sum, count, i) =>
        sum + (count >= (framesBefore[i] ?? 0) ? count - (framesBefore[i] ?? 0) : count),
      0,
    );
    return {
      cpuMs: cpuBetween(before, after),
      framesDecoded: decoded,
      byThread: threadCpuBetween(threadsBefore, threadsAfter),
    };
  } finally {
    for (const context of contexts) await context.close().catch(() => {});
  }
}

const CPU_MODES: readonly CpuMode[] = ["off", "transform", "e2ee", "hush"];

/**
 * `rounds` rounds of one call per mode, each round in a new order (round r starts at the r-th
 * mode), so that no mode always runs first, after the same other or on a machine warming up.
 */
export async function alternatingRounds(
  rounds: number,
  run: (mode: CpuMode) => Promise<CpuRun>,
): Promise<Record<CpuMode, CpuRun[]>> {
  const runs: Record<CpuMode, CpuRun[]> = { off: [], transform: [], e2ee: [], hush: [] };
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < CPU_MODES.length; i++) {
      const mode = CPU_MODES[(round + i) % CPU_MODES.length];
      if (mode) runs[mode].push(await run(mode));
    }
  }
  return runs;
}

/** Each mode's median round by CPU time (the lower middle of an even count), whole. */
export function medianRuns(runs: Record<CpuMode, CpuRun[]>): Record<CpuMode, CpuRun> {
  const median = (mode: CpuMode): CpuRun => {
    const sorted = [...runs[mode]].sort((a, b) => a.cpuMs - b.cpuMs);
    const middle = sorted[Math.floor((sorted.length - 1) / 2)];
    if (!middle) throw new Error(`no CPU round of ${mode}`);
    return middle;
  };
  return {
    off: median("off"),
    transform: median("transform"),
    e2ee: median("e2ee"),
    hush: median("hush"),
  };
}
