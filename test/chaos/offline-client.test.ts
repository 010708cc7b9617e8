// A client offline for 10 s: Carol's browser reaches both servers only through a loopback proxy
// (test/support/cut-proxy.ts: the page, the Worker's WebSocket, livekit's WebSocket, and her WebRTC
// media as ICE over TCP, since her browser may not send UDP that bypasses the proxy), and the test
// cuts that proxy for 10 s: no byte moves either way, nothing is closed, new connections hang, as
// when Wi-Fi drops. (Playwright's setOffline is not enough: Chromium's offline emulation drops the
// frames of open WebSockets both ways without closing them, but Carol's video kept decoding at
// Alice's until the Room dropped her: WebRTC's UDP is not cut.) The test checks the cut is real
// (Alice receives no more packets from Carol) before it counts on it. The Room runs with a 5 s
// liveness timeout, so with no ping from Carol it drops her seat and tells the others she left; the
// leader rotates her out with a fresh key she never gets, and Alice and Bob keep decoding each
// other throughout. When the link is back, Carol's signalling finds its socket closed, rejoins as a
// new membership (fresh key pairs, a new seq) and the call converges again with her in it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOOKAHEAD_RATCHETS } from "../../web/src/core/key-store";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import { type CutProxy, startCutProxy } from "../support/cut-proxy";
import { sleep, step, view } from "../e2e/pages";
import {
  type Call,
  closeCall,
  converge,
  expectRotatedOut,
  joinAs,
  newCallLink,
  planWithinCore,
  views,
  watchDecoding,
} from "./call";
import { type ChaosServers, startChaosServers } from "./servers";

/** The Room's liveness timeout for this file, in seconds, and the pages' ping interval. */
const HEARTBEAT_TIMEOUT_S = 5;
const HEARTBEAT_MS = 1_500;
/** Carol stays offline at least this long (and until the others rotated her out). */
const OFFLINE_MS = 10_000;
/** A pair that has decoded nothing new for this long has stalled (the page samples every 1 s). */
const STALL_MS = 5_000;

let servers: ChaosServers;
let browser: RunningBrowser;
/** Carol's browser, whose every connection goes through `proxy`. */
let carolBrowser: RunningBrowser;
let proxy: CutProxy;

describe("a client offline for 10 s", () => {
  beforeAll(async () => {
    servers = await startChaosServers({
      vars: { HEARTBEAT_TIMEOUT_SECONDS: String(HEARTBEAT_TIMEOUT_S) },
    });
    browser = await launchBrowser();
    proxy = await startCutProxy();
    carolBrowser = await launchBrowser([
      `--proxy-server=${proxy.url}`,
      // Chromium sends loopback straight by default; "<-loopback>" takes that exception away.
      "--proxy-bypass-list=<-loopback>",
      // WebRTC may use UDP only through a proxy (it cannot through this one): ICE over TCP, proxied.
      "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    ]);
  });

  afterAll(async () => {
    await carolBrowser?.close();
    await browser?.close();
    await proxy?.stop();
    await servers?.stop();
  });

  it("the others rotate it out and keep decoding; back online it rejoins as a new member", async () => {
    const link = newCallLink(servers.origin);
    const opts = { heartbeatMs: HEARTBEAT_MS };
    const alice = await joinAs(browser, servers.origin, link, "Alice", opts);
    const bob = await joinAs(browser, servers.origin, link, "Bob", opts);
    const carol = await joinAs(carolBrowser, servers.origin, link, "Carol", opts);
    const call: Call = { link, people: [alice, bob, carol], id: () => "" };
    const rest: Call = { link, people: [alice, bob], id: (p) => call.id(p) };
    try {
      await converge(call, "the call to start", 120_000);
      // Carol's page, signalling and media all went through the proxy.
      const tunnels = new Set(proxy.tunnels());
      const port = (url: string) => new URL(url).port;
      for (const target of [
        port(servers.origin),
        port(servers.livekitUrl),
        String(servers.sfuPorts.tcpPort),
      ]) {
        expect(
          [...tunnels].some((t) => t.endsWith(`:${target}`)),
          `a tunnel to port ${target} in ${[...tunnels]}`,
        ).toBe(true);
      }
      const carolId = call.id(carol);
      const before = await views(call);
      const codeBefore = before[0]?.securityCode;
      const carolHeld = Math.max(...(before[2]?.keyEpochs ?? []));
      const rotationsBefore = before[0]?.rotations.length ?? 0;
      const watch = watchDecoding(rest);

      step(`Carol goes offline (she holds epochs up to ${carolHeld})`);
      const offlineAt = Date.now();
      proxy.cut();

      // The cut is real: before the Room's timeout, Alice receives no more packets from Carol.
      const packetsFromCarol = async () => {
        const v = await view(alice);
        return v.rosterIds.includes(carolId) ? v.receive[carolId]?.videoPacketsReceived : undefined;
      };
      await sleep(1_200);
      const packetsAtCut = await packetsFromCarol();
      await sleep(2_000);
      const packetsLater = await packetsFromCarol();
      step(`Alice's packets from Carol after the cut: ${packetsAtCut} -> ${packetsLater}`);
      if (packetsLater !== undefined) expect(packetsLater).toBe(packetsAtCut);

      const { fresh, leftAt } = await expectRotatedOut(rest, carolId, rotationsBefore);
      const leftAfter = leftAt - offlineAt;
      step(`Alice and Bob saw Carol leave ${leftAfter} ms after she went offline`);
      const carolOffline = await view(carol);
      step(
        `rotations ${JSON.stringify((await view(alice)).rotations)}; fresh key ${fresh}; Carol, offline, holds ${JSON.stringify(carolOffline.keyEpochs)}, screen ${carolOffline.screen}`,
      );
      // Locked out: Carol holds nothing above her look-ahead from the key before the fresh one;
      // what she holds at the fresh key's epoch (and the one above) are ratchets of that key, and
      // the fresh key is random, not a ratchet.
      expect(Math.max(0, ...carolOffline.keyEpochs)).toBeLessThanOrEqual(
        fresh + LOOKAHEAD_RATCHETS - 1,
      );

      while (Date.now() - offlineAt < OFFLINE_MS)
        await sleep(Math.max(10, OFFLINE_MS - (Date.now() - offlineAt)));
      step(`Carol comes back online after ${Date.now() - offlineAt} ms`);
      const onlineAt = Date.now();
      proxy.restore();

      const {
        tookMs,
        decodingAfterMs,
        views: after,
      } = await converge(call, "Carol to rejoin and every pair to decode", 180_000);
      const gaps = await watch.stop();
      step(
        `every pair decodes ${decodingAfterMs} ms after Carol came back (converged after ${tookMs} ms); Alice<->Bob longest gaps ${JSON.stringify(gaps)}; decrypt errors ${before.map((v) => v.decryptErrors).join("/")} -> ${after.map((v) => v.decryptErrors).join("/")}`,
      );
      // Alice and Bob never stalled while Carol was gone or came back.
      for (const [pair, gap] of Object.entries(gaps)) {
        expect(gap, `${pair}: longest time without a decoded frame`).toBeLessThan(STALL_MS);
      }
      // A new membership: fresh key pairs (a new security code), and only keys from after the
      // rotation that locked her out.
      expect(after[0]?.securityCode).not.toBe(codeBefore);
      const carolAfter = after[2];
      expect(carolAfter?.selfId).toBe(carolId);
      expect(Math.min(...(carolAfter?.keyEpochs ?? [0]))).toBeGreaterThan(fresh);
      for (const [i, v] of after.entries()) {
        expect(planWithinCore(v), `${call.people[i]?.name}'s plan`).toBe(true);
        expect(v.rosterIds).toHaveLength(3);
      }
      step(`Carol back in the call ${Date.now() - onlineAt} ms after coming online`);
    } finally {
      await closeCall(call);
    }
  });
});
