// The media part of `npm run bench` (issue 6): builds the web app, starts livekit-server, the Worker
// (pointed at that livekit-server) and headless Chromium, then runs the app measurements and the
// E2EE CPU comparison. Anything that fails is reported as "not measured" with its reason, never
// as a figure.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { launchBrowser } from "../support/browser";
import { REPO_ROOT, startLiveKit } from "../support/livekit";
import { startWorker } from "../support/worker";
import { JOIN_PHASES } from "./join-phases";
import { runAppMedia } from "./media-app";
import {
  alternatingRounds,
  type CpuMode,
  measureCallCpu,
  medianRuns,
  servePage,
} from "./media-cpu";
import { compareFirstFrame } from "./media-first-frame";
import type { MediaResult } from "./results";
import { summarize } from "./stats";
import { onTeardown } from "./teardown";

export interface MediaOptions {
  quick: boolean;
  log: (line: string) => void;
}

const PARTICIPANTS = 4;
/** Chromium's name for a dedicated worker's thread: the E2EE (or pass-through) worker's. */
const WORKER_THREAD = "DedicatedWorker";

/** True when web/dist/index.html is newer than every file under web/ that goes into the build. */
function webDistIsFresh(): boolean {
  const built = join(REPO_ROOT, "web", "dist", "index.html");
  if (!existsSync(built)) return false;
  const builtAt = statSync(built).mtimeMs;
  const newest = (dir: string): number => {
    let latest = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
    }
    return latest;
  };
  const sources = ["src", "public", "index.html", "vite.config.ts"]
    .map((name) => join(REPO_ROOT, "web", name))
    .filter((path) => existsSync(path));
  const latest = Math.max(
    ...sources.map((path) =>
      statSync(path).isDirectory() ? newest(path) : statSync(path).mtimeMs,
    ),
  );
  return builtAt > latest;
}

export async function runMediaBench(opts: MediaOptions): Promise<MediaResult> {
  const stops: (() => Promise<void>)[] = [];
  try {
    if (webDistIsFresh()) {
      opts.log("media: web/dist is newer than web/src, not rebuilding");
    } else {
      opts.log("media: building the web app…");
      await promisify(execFile)("npm", ["run", "build:web"], {
        cwd: REPO_ROOT,
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
      });
    }
    opts.log("media: starting livekit-server, the Worker and Chromium…");
    const livekit = await startLiveKit();
    stops.push(onTeardown("livekit-server", () => livekit.stop()));
    const worker = await startWorker({
      snapshot: true,
      vars: {
        LIVEKIT_URL: livekit.url,
        LIVEKIT_API_KEY: livekit.apiKey,
        LIVEKIT_API_SECRET: livekit.apiSecret,
      },
    });
    stops.push(onTeardown("wrangler dev (media)", () => worker.stop()));
    const browser = await launchBrowser();
    stops.push(onTeardown("chromium", () => browser.close()));

    opts.log(`media: ${PARTICIPANTS} participants join the web app…`);
    const app = await runAppMedia({
      browser,
      origin: worker.origin,
      participants: PARTICIPANTS,
      rejoinRounds: opts.quick ? 1 : 2,
      steadySeconds: opts.quick ? 6 : 12,
      log: opts.log,
    });
    if (app.firstFrameMs.length === 0) {
      return { measured: false, reason: "no participant ever showed a decrypted frame" };
    }

    type Measured = Extract<MediaResult, { measured: true }>;
    let cpu: Measured["cpu"];
    let firstFrameE2ee: Measured["firstFrameE2ee"];
    const page = await servePage();
    stops.push(onTeardown("bench page server", () => page.close()));
    try {
      const rounds = opts.quick ? 2 : 5;
      opts.log(`media: join → first frame, ${rounds} rounds alternating E2EE off and on…`);
      const { onMs, offMs } = await compareFirstFrame({
        browser,
        livekit,
        pageOrigin: page.origin,
        rounds,
      });
      const on = summarize(onMs);
      const off = summarize(offMs);
      firstFrameE2ee = {
        measured: true,
        onMs: on,
        offMs: off,
        ratio: off.p50 > 0 ? on.p50 / off.p50 : null,
        method:
          "livekit-client page, a publisher in a fresh room and a joiner per round, from the joiner's connect to the publisher's first shown frame; the key is set before joining",
      };
    } catch (error) {
      firstFrameE2ee = {
        measured: false,
        reason: (error as Error).message.split("\n")[0] ?? "unknown error",
      };
    }
    try {
      const seconds = opts.quick ? 5 : 10;
      const rounds = opts.quick ? 1 : 3;
      const run = (mode: CpuMode) =>
        measureCallCpu({
          browser,
          livekit,
          pageOrigin: page.origin,
          participants: PARTICIPANTS,
          seconds,
          mode,
        });
      opts.log(
        `media: CPU with E2EE off, a pass-through transform, livekit's E2EE and the web app's, ${rounds} rounds in turn (${seconds} s each)…`,
      );
      const runs = await alternatingRounds(rounds, run);
      const { off, transform, e2ee: on, hush } = medianRuns(runs);
      cpu = {
        measured: true,
        participants: PARTICIPANTS,
        seconds,
        rounds,
        roundsMs: {
          off: runs.off.map((r) => r.cpuMs),
          transform: runs.transform.map((r) => r.cpuMs),
          e2ee: runs.e2ee.map((r) => r.cpuMs),
          hush: runs.hush.map((r) => r.cpuMs),
        },
        e2eeOnMs: on.cpuMs,
        e2eeOffMs: off.cpuMs,
        framesOn: on.framesDecoded,
        framesOff: off.framesDecoded,
        ratio: off.cpuMs > 0 ? on.cpuMs / off.cpuMs : null,
        ratioPerFrame:
          off.cpuMs > 0 && on.framesDecoded > 0 && off.framesDecoded > 0
            ? on.cpuMs / on.framesDecoded / (off.cpuMs / off.framesDecoded)
            : null,
        method:
          "user + system time of every Chromium process from /proc, livekit-client page with its E2EE worker on or off",
        byThread: threadsThatDiffer(on.byThread, off.byThread),
        transformOnly: {
          cpuMs: transform.cpuMs,
          frames: transform.framesDecoded,
          workerMs: transform.byThread.get(WORKER_THREAD) ?? 0,
          e2eeWorkerMs: on.byThread.get(WORKER_THREAD) ?? 0,
        },
        hushWorker: {
          cpuMs: hush.cpuMs,
          frames: hush.framesDecoded,
          ratio: off.cpuMs > 0 ? hush.cpuMs / off.cpuMs : null,
          workerMs: hush.byThread.get(WORKER_THREAD) ?? 0,
        },
      };
    } catch (error) {
      // First line only: playwright's call log would repeat the page URL with its token.
      cpu = { measured: false, reason: (error as Error).message.split("\n")[0] ?? "unknown error" };
    }
    return {
      measured: true,
      participants: PARTICIPANTS,
      joinToFirstFrameMs: summarize(app.firstFrameMs),
      joinPhasesMs: Object.fromEntries(
        JOIN_PHASES.map((phase) => {
          const samples = app.joinPhasesMs[phase];
          return [phase, samples.length > 0 ? summarize(samples) : null];
        }),
      ) as Measured["joinPhasesMs"],
      firstFrameTimeouts: app.firstFrameTimeouts,
      joins: app.joins,
      rotations: app.rotations,
      decryptFailures: app.decryptFailures,
      refusedFrames: app.refusedFrames,
      incomplete: app.incomplete,
      cpu,
      firstFrameE2ee,
    };
  } catch (error) {
    const message = (error as Error).message.split("\n")[0] ?? "unknown error";
    opts.log(`media: failed: ${message}`);
    return { measured: false, reason: `the media run failed: ${message}` };
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

/** Browser threads by how much more CPU they spent with E2EE on: where its cost goes (top 8). */
function threadsThatDiffer(on: Map<string, number>, off: Map<string, number>) {
  const names = new Set([...on.keys(), ...off.keys()]);
  return [...names]
    .map((thread) => ({ thread, onMs: on.get(thread) ?? 0, offMs: off.get(thread) ?? 0 }))
    .sort((a, b) => Math.abs(b.onMs - b.offMs) - Math.abs(a.onMs - a.offMs))
    .slice(0, 8);
}
