// A frozen tab: Carol's page stops dead (freeze.ts: SIGSTOP to her browser's renderer processes):
// no script, timer, worker or WebRTC thread of hers runs, so she reads nothing, writes nothing and
// closes nothing, while her sockets stay open. (CDP's Page.setWebLifecycleState "frozen" does not
// freeze a page in headless Chromium, see freeze.ts.) The Room runs with a 5 s liveness timeout;
// with no ping from Carol it drops her seat, the others hear she left, the leader rotates her out
// with a fresh key, and Alice and Bob keep decoding each other throughout. When the page runs again
// it must either recover by itself (rejoin as a new membership and decode) or show a clear screen
// with a way back in (the error screen's "Try again"), within a bounded time; the test says which,
// takes the way back in if it is the screen, and ends in convergence of all three.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import { joinFromPreJoin, sleep, step, view, waitFor } from "../e2e/pages";
import {
  type Call,
  closeCall,
  converge,
  expectRotatedOut,
  planWithinCore,
  joinAs,
  newCallLink,
  views,
  watchDecoding,
} from "./call";
import { freezeRenderers, markerArg, newMarker, thawRenderers } from "./freeze";
import { type ChaosServers, startChaosServers } from "./servers";

/** The Room's liveness timeout for this file, in seconds, and the pages' ping interval. */
const HEARTBEAT_TIMEOUT_S = 5;
const HEARTBEAT_MS = 1_500;
/** Carol stays frozen at least this long (and until the others rotated her out). */
const FROZEN_MS = 10_000;
/** A pair that has decoded nothing new for this long has stalled (the page samples every 1 s). */
const STALL_MS = 5_000;

let servers: ChaosServers;
let browser: RunningBrowser;
/** Carol's own browser, whose renderers the test stops. */
let carolBrowser: RunningBrowser;
const marker = newMarker();

describe("a frozen tab", () => {
  beforeAll(async () => {
    servers = await startChaosServers({
      vars: { HEARTBEAT_TIMEOUT_SECONDS: String(HEARTBEAT_TIMEOUT_S) },
    });
    browser = await launchBrowser();
    carolBrowser = await launchBrowser([markerArg(marker)]);
  });

  afterAll(async () => {
    await carolBrowser?.close();
    await browser?.close();
    await servers?.stop();
  });

  it("the others rotate it out and keep decoding; unfrozen it rejoins or offers a way back", async () => {
    const link = newCallLink(servers.origin);
    const opts = { heartbeatMs: HEARTBEAT_MS };
    const alice = await joinAs(browser, servers.origin, link, "Alice", opts);
    const bob = await joinAs(browser, servers.origin, link, "Bob", opts);
    const carol = await joinAs(carolBrowser, servers.origin, link, "Carol", opts);
    const call: Call = { link, people: [alice, bob, carol], id: () => "" };
    const rest: Call = { link, people: [alice, bob], id: (p) => call.id(p) };
    let frozen: number[] = [];
    try {
      await converge(call, "the call to start", 120_000);
      const carolId = call.id(carol);
      const before = await views(call);
      const codeBefore = before[0]?.securityCode;
      const rotationsBefore = before[0]?.rotations.length ?? 0;
      const watch = watchDecoding(rest);

      frozen = freezeRenderers(marker);
      const frozenAt = Date.now();
      step(`froze Carol's page (renderer processes ${frozen.join(", ")})`);

      const { fresh, leftAt } = await expectRotatedOut(rest, carolId, rotationsBefore);
      step(
        `Alice and Bob saw Carol leave ${leftAt - frozenAt} ms after the freeze and send with fresh key ${fresh}`,
      );

      while (Date.now() - frozenAt < FROZEN_MS)
        await sleep(Math.max(10, FROZEN_MS - (Date.now() - frozenAt)));
      step(`unfreezing Carol's page after ${Date.now() - frozenAt} ms`);
      const activeAt = Date.now();
      thawRenderers(frozen);
      frozen = [];

      // Bounded: back in the call on her own (a new membership: a new security code that Alice
      // shows too), or the error screen with its way back in.
      let outcome: "rejoined" | "screen" | undefined;
      await waitFor(
        async () =>
          `Carol to rejoin or get a screen with a way back in: ${JSON.stringify(await view(carol))}`,
        async () => {
          const [a, c] = await Promise.all([view(alice), view(carol)]);
          if (c.screen === "error") outcome = "screen";
          else if (
            c.screen === "call" &&
            c.rosterIds.length === 3 &&
            c.securityCode !== codeBefore &&
            c.securityCode === a.securityCode
          )
            outcome = "rejoined";
          return outcome !== undefined;
        },
        90_000,
      );
      step(`Carol's page ${outcome} ${Date.now() - activeAt} ms after it was unfrozen`);
      if (outcome === "screen") {
        const retry = carol.page.getByRole("button", { name: "Try again" });
        await retry.waitFor({ timeout: 10_000 });
        await retry.click();
        await carol.page.getByRole("button", { name: "Join call" }).waitFor({ timeout: 60_000 });
        await joinFromPreJoin(carol);
      }

      const {
        tookMs,
        decodingAfterMs,
        views: after,
      } = await converge(call, "Carol back in and every pair decoding", 180_000);
      const gaps = await watch.stop();
      step(
        `every pair decodes ${decodingAfterMs} ms after the unfreeze (converged after ${tookMs} ms); Alice<->Bob longest gaps ${JSON.stringify(gaps)}; decrypt errors ${before.map((v) => v.decryptErrors).join("/")} -> ${after.map((v) => v.decryptErrors).join("/")}`,
      );
      for (const [pair, gap] of Object.entries(gaps)) {
        expect(gap, `${pair}: longest time without a decoded frame`).toBeLessThan(STALL_MS);
      }
      expect(after[0]?.securityCode).not.toBe(codeBefore);
      const carolAfter = after[2];
      expect(carolAfter?.selfId).toBe(carolId);
      // A new membership holds only keys from after the rotation that locked the frozen one out.
      expect(Math.min(...(carolAfter?.keyEpochs ?? [0]))).toBeGreaterThan(fresh);
      for (const [i, v] of after.entries()) {
        expect(planWithinCore(v), `${call.people[i]?.name}'s plan`).toBe(true);
        expect(v.rosterIds).toHaveLength(3);
      }
    } finally {
      thawRenderers(frozen);
      await closeCall(call);
    }
  });
});
