// The SFU killed mid-call (SIGKILL: no goodbye to any client) or stopped (SIGTERM, in turn) and
// started again on the same ports with the same keys: a LiveKit redeploy or a crashed node.
// livekit-client loses its signalling and media connections, finds the new server knows nothing of
// it (a resume fails) and rejoins in full: new peer connections, new remote participants and
// tracks, our own tracks published again with the capture they had. Afterwards every pair must
// decode again with keys from the schedule, on one epoch, with one security code, and livekit must
// hold no key the core no longer holds (docs/media-keys.md, Reconnects).
import { afterAll, beforeAll, describe, it } from "vitest";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import { sleep, step } from "../e2e/pages";
import { type Call, closeCall, converge, startCall } from "./call";
import { beforeSfuLoss, expectRecoveredFromSfuLoss } from "./sfu-loss";
import { type ChaosServers, type CpuHog, startChaosServers, startCpuHog } from "./servers";

/** How long the SFU stays down after it is gone. */
const DOWN_MS = 4_000;
/** How many restarts one call goes through (the issue saw a stuck pair in 4 of 11 runs). */
const RESTARTS = Number(process.env.HUSH_CHAOS_RESTARTS ?? 3);
/**
 * How many of the last rounds run with a CPU hog (a busy process per core, servers.ts) from just
 * before the kill until the call converged: the "never stuck, also with a CPU hog".
 */
const HOG_ROUNDS = Math.min(RESTARTS, Number(process.env.HUSH_CHAOS_HOG_ROUNDS ?? 1));
/** A hog outlives its round by at most this long, even if the test dies with it running. */
const HOG_MAX_MS = 150_000;

let servers: ChaosServers;
let browser: RunningBrowser;

describe("the SFU killed and restarted mid-call", () => {
  beforeAll(async () => {
    servers = await startChaosServers();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await servers?.stop();
  });

  it(`every pair decodes again after each of ${RESTARTS} restarts, on one epoch, with no retired key back`, async () => {
    const call: Call = await startCall(browser, servers.origin, ["Alice", "Bob", "Carol"]);
    const recoveries: number[] = [];
    let hog: CpuHog | undefined;
    try {
      for (let round = 1; round <= RESTARTS; round++) {
        const before = await beforeSfuLoss(call);
        const { lowestHeld } = before;
        const errorsBefore = before.views.map((v) => v.decryptErrors);
        // Odd rounds crash the SFU, even rounds stop it as an operator would (it drains for 5 s
        // first, then goes without a goodbye: servers.ts).
        const how = round % 2 === 1 ? "SIGKILL" : "SIGTERM";
        const hogged = round > RESTARTS - HOG_ROUNDS;
        step(
          `round ${round}: ${how} to the SFU${hogged ? " under a CPU hog" : ""} (epochs held ${lowestHeld}+)`,
        );
        hog = hogged ? startCpuHog({ maxMs: HOG_MAX_MS }) : undefined;
        const killedAt = Date.now();
        await (how === "SIGKILL" ? servers.killSfu() : servers.stopSfu());
        // The UI says what is going on: every page shows that it is reconnecting to the media server.
        for (const participant of call.people) {
          await participant.page
            .getByText(/reconnecting to the media server/i)
            .first()
            .waitFor({ timeout: 30_000 });
        }
        await sleep(DOWN_MS);
        await servers.startSfu();
        const answeredAt = Date.now();
        step(`round ${round}: the SFU answers again ${answeredAt - killedAt} ms after the ${how}`);
        const {
          tookMs,
          decodingAfterMs,
          views: after,
        } = await converge(
          call,
          `round ${round}: every pair to decode again after the SFU restart`,
          120_000,
        );
        await hog?.stop();
        hog = undefined;
        recoveries.push(decodingAfterMs);
        step(
          `round ${round}: every pair decodes again ${decodingAfterMs} ms after the SFU answered (converged after ${tookMs} ms); decrypt errors ${errorsBefore.join("/")} -> ${after.map((v) => v.decryptErrors).join("/")}`,
        );
        await expectRecoveredFromSfuLoss(call, before, killedAt, after);
      }
    } finally {
      await hog?.stop();
      step(`recovery after SFU restarts (ms): ${recoveries.join(", ")}`);
      await closeCall(call);
    }
  });
});
