// The recovery section of `npm run bench` (issue 15): three headless Chromium participants in the
// real web app on their own livekit-server and Worker (the chaos suite's servers and call,
// test/chaos/servers.ts and call.ts), and the time from a restarted server answering again until
// every pair decodes again. Per server, one call goes through `restarts` restarts: the SFU is
// killed (SIGKILL) or stopped (SIGTERM), alternately as in the chaos test, and started again on its
// ports after DOWN_MS; the Worker is killed and started again with an empty Durable Object.
// "Answering" is when the restarted server's HTTP check first succeeds (livekit's /, the Worker's
// /v1/health, polled every 100 / 200 ms); "every pair decodes" is the chaos suite's convergence
// check (every pair decodes a moving picture, one epoch, one security code), timed to when the last
// pair's run of decoded frames began (up to a second late: the page samples WebRTC's statistics
// once a second). Decrypt errors are livekit's failures counted by every page, summed, from the
// kill until the call converged. A restart after which the call does not converge within STUCK_MS
// counts as stuck; the series then goes on with a new call. A third series restarts the SFU again
// with a CPU hog (one busy process per core, servers.ts startCpuHog) started just before each kill
// and stopped once the call converged or was declared stuck: the issue's "never stuck, also with a
// CPU hog loading the machine during the restart".
import { existsSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { buildWebIfStale } from "../e2e/globalSetup";
import { type Call, closeCall, converge, keyLogEntries, startCall, views } from "../chaos/call";
import { type ChaosServers, type CpuHog, startChaosServers, startCpuHog } from "../chaos/servers";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import type { HushTestView } from "../../web/src/app/testHooks";
import { REPO_ROOT } from "../support/livekit";
import type { RecoveryResult, RecoverySeries } from "./results";
import { summarize } from "./stats";
import { onTeardown } from "./teardown";

/** How long each server stays down before it is started again. */
const DOWN_MS = { sfu: 4_000, worker: 2_000 } as const;
/** A restart not followed by convergence within this long is stuck. */
const STUCK_MS = 120_000;
const NAMES = ["Alice", "Bob", "Carol"];

export interface RecoveryOptions {
  restarts: number;
  log: (line: string) => void;
}

type Kind = "sfu" | "worker";

async function restart(servers: ChaosServers, kind: Kind, round: number): Promise<string> {
  if (kind === "worker") {
    await servers.killWorker();
    await new Promise((resolve) => setTimeout(resolve, DOWN_MS.worker));
    await servers.startWorker();
    return "SIGKILL";
  }
  const how = round % 2 === 1 ? "SIGKILL" : "SIGTERM";
  await (how === "SIGKILL" ? servers.killSfu() : servers.stopSfu());
  await new Promise((resolve) => setTimeout(resolve, DOWN_MS.sfu));
  await servers.startSfu();
  return how;
}

/**
 * Frames dropped on the way, summed over the pages: refused by a receiver's guard (not counting the
 * SFU's own injected frames), and our own not encrypted (no key yet) or kept back by the guard. A
 * dropped video frame leaves the receiver's decoder waiting for the next keyframe.
 */
async function dropped(call: Call): Promise<number[]> {
  const vs = await views(call);
  const refused = (v: HushTestView) =>
    Object.values(v.refused).reduce(
      (sum, c) => sum + c.keyNotAllowed + c.replay + c.notDecrypted - c.serverInjected,
      0,
    );
  return [
    vs.reduce((sum, v) => sum + refused(v), 0),
    vs.reduce((sum, v) => sum + v.sendErrors + v.sendBlocked, 0),
  ];
}

const sumErrors = (call: Call) =>
  views(call).then((vs) => vs.reduce((sum, v) => sum + v.decryptErrors, 0));

/** A hog outlives a restart by at most this long, even if the bench dies with it running. */
const HOG_MAX_MS = STUCK_MS + 30_000;

async function series(
  kind: Kind,
  browser: RunningBrowser,
  opts: RecoveryOptions,
  withHog = false,
): Promise<RecoverySeries> {
  const servers = await startChaosServers();
  const stopServers = onTeardown(`recovery ${kind} servers`, () => servers.stop());
  const recoveredMs: number[] = [];
  const decryptErrors: number[] = [];
  const rejoinedMs: number[] = [];
  const keyframeRequests: number[] = [];
  let stuck = 0;
  let call: Call | undefined;
  try {
    for (let round = 1; round <= opts.restarts; round++) {
      call ??= await startCall(browser, servers.origin, NAMES);
      const errorsBefore = await sumErrors(call);
      const droppedBefore = await dropped(call);
      let hog: CpuHog | undefined = withHog ? startCpuHog({ maxMs: HOG_MAX_MS }) : undefined;
      const stopHog = async () => {
        const running = hog;
        hog = undefined;
        await running?.stop();
      };
      const unregisterHog = withHog ? onTeardown(`recovery ${kind} CPU hog`, stopHog) : undefined;
      const killedAt = Date.now();
      const how = await restart(servers, kind, round);
      const answeredAt = Date.now();
      try {
        const { decodingAfterMs, views: after } = await converge(
          call,
          `every pair to decode after ${kind} restart ${round}`,
          STUCK_MS,
        );
        await stopHog();
        const errors = (await sumErrors(call)) - errorsBefore;
        const [refusedNow = 0, unsentNow = 0] = await dropped(call);
        const drops = `${refusedNow - (droppedBefore[0] ?? 0)} frames refused by receivers, ${unsentNow - (droppedBefore[1] ?? 0)} not sent`;
        recoveredMs.push(decodingAfterMs);
        decryptErrors.push(errors);
        const requests = keyframesAskedFor(after, killedAt);
        keyframeRequests.push(requests);
        // The signalling's share of a Worker restart: until the last page was welcomed again.
        const rejoined = kind === "worker" ? lastRejoinAfter(after, answeredAt) : undefined;
        if (rejoined !== undefined) rejoinedMs.push(rejoined);
        // A page may rejoin the Worker before its health check is seen answering: no rejoin time.
        const parts =
          kind === "worker"
            ? [
                ...(rejoined === undefined ? [] : [`every page rejoined after ${rejoined} ms`]),
                keysHandedOver(after, answeredAt),
              ]
            : [mediaBack(after, answeredAt)];
        opts.log(
          `recovery: ${kind} restart ${round} (${how}): every pair decodes ${decodingAfterMs} ms after it answered (${parts.join(", ")}), ${errors} decrypt errors, ${drops}, ${requests} keyframe requests`,
        );
      } catch (error) {
        await stopHog();
        stuck += 1;
        // The whole message: what every page knew when it gave up.
        opts.log(`recovery: ${kind} restart ${round} (${how}) STUCK: ${(error as Error).message}`);
        await closeCall(call);
        call = undefined;
      } finally {
        await unregisterHog?.();
      }
    }
  } finally {
    if (call) await closeCall(call);
    await stopServers();
  }
  return {
    restarts: opts.restarts,
    downMs: DOWN_MS[kind],
    recoveredMs,
    summary: recoveredMs.length > 0 ? summarize(recoveredMs) : null,
    decryptErrors,
    ...(kind === "worker" ? { rejoinedMs } : {}),
    keyframeRequests,
    stuck,
  };
}

/**
 * Milliseconds from `since` until the last page's signalling was joined again (its first "joined"
 * in the connection log after `since`), or undefined if a page shows none.
 */
function lastRejoinAfter(pages: HushTestView[], since: number): number | undefined {
  let last = 0;
  for (const page of pages) {
    const joined = page.connectionLog
      .map((line) => line.split(" "))
      .find(([at, status]) => status === "joined" && Number(at) >= since);
    if (!joined) return undefined;
    last = Math.max(last, Number(joined[0]) - since);
  }
  return last;
}

/**
 * When, after `since`, the last page handed livekit its new sending key and the last receiving key
 * of the new memberships (MediaKeys' log: times and epochs only), for the log line: which part of
 * a Worker restart is the keys and which the media after them.
 */
function keysHandedOver(pages: HushTestView[], since: number): string {
  const last = (kind: string) =>
    Math.max(
      ...pages.map((page) =>
        Math.max(
          0,
          ...keyLogEntries(page)
            .filter((e) => e.kind === kind && e.at >= since)
            .map((e) => e.at - since),
        ),
      ),
    );
  return `sending keys after ${last("send")} ms, receiving keys after ${last("recv")} ms`;
}

/** Keyframes the pages asked for since `since` (CallMedia.mediaLog's "keyframe" lines). */
function keyframesAskedFor(pages: HushTestView[], since: number): number {
  return pages
    .flatMap((page) => page.mediaLog ?? [])
    .filter((line) => {
      const [at, what] = line.split(" ");
      return what === "keyframe" && Number(at) >= since;
    }).length;
}

/**
 * From the pages' media logs (CallMedia.mediaLog): when, after `since`, the last page's livekit was
 * connected again and the last remote camera was subscribed again.
 */
function mediaBack(pages: HushTestView[], since: number): string {
  const last = (match: (what: string) => boolean) =>
    Math.max(
      ...pages.map((page) =>
        Math.max(
          0,
          ...(page.mediaLog ?? [])
            .map((line) => line.split(" "))
            .filter(([at, what]) => Number(at) >= since && match(what ?? ""))
            .map(([at]) => Number(at) - since),
        ),
      ),
    );
  return `livekit connected after ${last((w) => w === "connected")} ms, cameras subscribed after ${last((w) => w === "video")} ms`;
}

export async function runRecoveryBench(opts: RecoveryOptions): Promise<RecoveryResult> {
  const built = join(REPO_ROOT, "web", "dist", "index.html");
  opts.log(
    `recovery: building the web app if stale (web/dist ${existsSync(built) ? `from ${statSync(built).mtime.toISOString()}` : "missing"})…`,
  );
  await buildWebIfStale();
  const loadAtStart = loadavg()[0] ?? 0;
  const browser = await launchBrowser();
  const closeBrowser = onTeardown("recovery browser", () => browser.close());
  try {
    opts.log(`recovery: SFU, ${opts.restarts} restarts of a call of ${NAMES.length}…`);
    const sfu = await series("sfu", browser, opts);
    opts.log(`recovery: Worker, ${opts.restarts} restarts of a call of ${NAMES.length}…`);
    const worker = await series("worker", browser, opts);
    opts.log(
      `recovery: SFU under a CPU hog, ${opts.restarts} restarts of a call of ${NAMES.length}…`,
    );
    const sfuUnderHog = await series("sfu", browser, opts, true);
    return {
      participants: NAMES.length,
      loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 },
      sfu,
      worker,
      sfuUnderHog,
    };
  } finally {
    await closeBrowser();
  }
}
