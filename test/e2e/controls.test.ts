// In-call controls in real headless Chromium through the real Worker and livekit-server: screen
// sharing (Chromium's fake screen capture, encrypted like every other track) and switching camera
// and microphone mid-call, while the other participant keeps decoding.
import type { Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  decodeCallSecret,
  encodeCallSecret,
  generateCallSecret,
  roomIdOf,
  systemRandom,
} from "../../web/src/core";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import {
  eavesdrop,
  eavesdropperStats,
  leaveEavesdropper,
  mintToken,
  openEavesdropper,
} from "./eavesdropper";
import {
  fakeCameraLikeness,
  joinFromPreJoin,
  openPage,
  type Participant,
  sleep,
  step,
  videoPicture,
  view,
  waitFor,
} from "./pages";

const origin = inject("origin");
const livekit = inject("livekit");
const EAVESDROPPER = "eavesdropperScreen00000";

let browser: RunningBrowser;
let ana: Participant;
let bo: Participant;
let anaId: string;
let roomId: string;

async function videoFramesFrom(participant: Participant, senderId: string): Promise<number> {
  return (await view(participant)).receive[senderId]?.videoFramesDecoded ?? 0;
}

async function audioSamplesFrom(participant: Participant, senderId: string): Promise<number> {
  return (await view(participant)).receive[senderId]?.audioSamplesDecoded ?? 0;
}

function optionValues(select: Locator): Promise<string[]> {
  return select
    .locator("option")
    .evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
}

/** Waits until `count` rises by more than `by` (media keeps flowing), or throws with `what`. */
async function expectRising(what: string, count: () => Promise<number>, by = 5) {
  const start = await count();
  await waitFor(
    async () => `${what} to rise past ${start + by} (now ${await count()})`,
    async () => (await count()) > start + by,
    30_000,
  );
}

describe("in-call controls", () => {
  beforeAll(async () => {
    // More fake cameras, so there is one to switch to (see the camera test for why three).
    browser = await launchBrowser(["--use-fake-device-for-media-stream=device-count=3"]);
    ana = await openPage(await browser.newParticipant(origin), "Ana");
    bo = await openPage(await browser.newParticipant(origin), "Bo");
    const fragment = `#${encodeCallSecret(generateCallSecret(systemRandom))}`;
    roomId = roomIdOf(decodeCallSecret(fragment));
    for (const p of [ana, bo]) {
      await p.page.goto(`${origin}/?video=low${fragment}`);
      await joinFromPreJoin(p);
    }
    for (const p of [ana, bo]) {
      await waitFor(`${p.name} to see two members`, async () => {
        const v = await view(p);
        return v.rosterIds.length === 2 && v.connection === "connected";
      });
    }
    anaId = (await view(ana)).selfId ?? "";
    await waitFor(
      "Bo to decode Ana's camera",
      async () => (await videoFramesFrom(bo, anaId)) > 10,
      60_000,
    );
    step("controls suite: Ana and Bo are in a call");
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("shares the screen encrypted: the other participant decodes it, eavesdroppers do not", async () => {
    const errorsAtShare = (await view(bo)).decryptErrorsBy[anaId] ?? 0;
    const share = ana.page.getByRole("button", { name: "Share screen" });
    expect(await share.getAttribute("aria-pressed")).toBe("false");
    await share.click();
    const stop = ana.page.getByRole("button", { name: "Stop sharing" });
    await stop.waitFor();
    expect(await stop.getAttribute("aria-pressed")).toBe("true");
    await waitFor(
      async () => `Ana to publish her screen: ${JSON.stringify((await view(ana)).published)}`,
      async () =>
        (await view(ana)).published.some((p) => p.source === "screen_share" && p.encrypted),
    );
    // Bo gets a second tile for Ana's screen, named as such, showing decrypted frames.
    const screenTile = `[data-tile="${anaId}"][data-screen]`;
    await bo.page.getByRole("figure", { name: "Ana: screen" }).waitFor({ timeout: 30_000 });
    await waitFor(
      "Bo to decode Ana's screen",
      async () => (await videoPicture(bo.page, `${screenTile} video`)).width > 0,
    );
    expect(await bo.page.locator(screenTile).getAttribute("data-crypto")).toBe("encrypted");
    const shown = await videoPicture(bo.page, `${screenTile} video`);
    const likeness = await fakeCameraLikeness(bo.page, `${screenTile} video`);
    step(`Bo shows Ana's screen: ${JSON.stringify(shown)}, fake-pattern likeness ${likeness}`);
    // Not the 192x108 camera: a full-size capture, and Chromium's fake screen has the fake
    // camera's green pattern, which is what Bo sees.
    expect(shown.width).toBeGreaterThan(192);
    expect(shown.variance).toBeGreaterThan(100);
    expect(likeness[0]).toBeGreaterThan(0.8);
    await expectRising(
      "frames of Ana's screen at Bo",
      async () => (await videoPicture(bo.page, `${screenTile} video`)).frames,
    );

    // An eavesdropper on the SFU without keys gets the screen's packets, and its decoder (no E2EE
    // at all) turns them into nothing that looks like the picture Bo sees.
    const context = await browser.newParticipant(origin);
    const plain = await openEavesdropper(context, origin);
    try {
      await eavesdrop(plain, "plain", livekit.url, await mintToken(livekit, roomId, EAVESDROPPER));
      await waitFor(
        async () =>
          `three video tracks to arrive: ${JSON.stringify(await eavesdropperStats(plain))}`,
        async () => {
          const video = (await eavesdropperStats(plain)).filter((s) => s.kind === "video");
          return video.length === 3 && video.every((s) => s.packetsReceived > 30);
        },
      );
      await sleep(2000);
      for (const track of await eavesdropperStats(plain)) {
        step(
          `plain eavesdropper <- ${track.participant} ${track.kind}: ${track.packetsReceived} packets, ${track.framesDecoded} frames decoded`,
        );
      }
      const eavesdropped = await fakeCameraLikeness(plain, "video[data-eavesdropped]");
      step(`plain eavesdropper picture likeness: ${eavesdropped.join(", ")}`);
      // Two cameras and the screen; the same measure gives Bo's view of the screen 1.
      expect(eavesdropped.length).toBeGreaterThanOrEqual(3);
      for (const value of eavesdropped) expect(value).toBeLessThan(0.3);
    } finally {
      await leaveEavesdropper(plain);
      await context.close();
    }

    // Stopping the share removes the tile; the camera keeps going.
    // Not one frame of the screen (or anything else of Ana's) failed to decrypt while it was shared.
    const errorsWhileSharing = (await view(bo)).decryptErrorsBy[anaId] ?? 0;
    expect(errorsWhileSharing, (await view(bo)).errorLog.join("\n")).toBe(errorsAtShare);
    await stop.click();
    await share.waitFor();
    await bo.page.getByRole("figure", { name: "Ana: screen" }).waitFor({ state: "detached" });
    expect((await view(ana)).published.some((p) => p.source === "screen_share")).toBe(false);
    // Counted on the camera tile's video element: the per-sender totals drop the screen's frames
    // only at the next stats sample.
    await expectRising(
      "frames of Ana's camera at Bo",
      async () =>
        (await videoPicture(bo.page, `[data-tile="${anaId}"]:not([data-screen]) video`)).frames,
    );
    // Seen on every run: as the screen track closes, Bo's receiver drops one frame whose last byte
    // is no key index of ours, most likely livekit-server's blank closing frame, which livekit would
    // let through with the SIF trailer this app refuses (e2eeWorker.ts). Logged for the record.
    step(`Bo's E2EE errors after the share stopped: ${(await view(bo)).errorLog.join(" | ")}`);
  });

  it("switches the microphone mid-call; the other participant keeps decoding its audio", async () => {
    const microphone = ana.page.getByRole("combobox", { name: "Microphone" });
    const microphones = await optionValues(microphone);
    expect(microphones.length).toBeGreaterThanOrEqual(2);
    // The picker shows the device in use.
    const before = await microphone.inputValue();
    expect(microphones).toContain(before);
    const errorsBefore = (await view(bo)).decryptErrorsBy[anaId] ?? 0;
    const next = microphones.find((id) => id !== before) ?? "";
    await microphone.selectOption(next);
    await waitFor(
      "the microphone picker to settle",
      async () => (await microphone.inputValue()) === next,
    );
    // 0.1 s of decoded audio at 48 kHz.
    await expectRising(
      "Bo's decoded audio samples from Ana after the microphone switch",
      () => audioSamplesFrom(bo, anaId),
      4800,
    );
    await expectRising("Bo's decoded frames from Ana", () => videoFramesFrom(bo, anaId));
    const v = await view(bo);
    expect(v.tileStates[anaId]).toBe("encrypted");
    expect(v.decryptErrorsBy[anaId] ?? 0, v.errorLog.join("\n")).toBe(errorsBefore);
    expect((await view(ana)).published.filter((p) => !p.encrypted)).toEqual([]);
  });

  // Chromium's fake cameras cycle through pixel formats: fake_device_1 delivers Y16 (depth)
  // frames, which WebRTC never encodes (checked with a bare RTCPeerConnection, no livekit, no
  // E2EE), so the switch goes to fake_device_2, an MJPEG camera that encodes like a real one.
  it("switches the camera mid-call; the other participant keeps decoding", async () => {
    const camera = ana.page.getByRole("combobox", { name: "Camera" });
    const cameras = await optionValues(camera);
    expect(cameras.length).toBe(3);
    const errorsBefore = (await view(bo)).decryptErrorsBy[anaId] ?? 0;
    const before = await camera.inputValue();
    expect(cameras).toContain(before);
    const next = await camera
      .locator("option", { hasText: "fake_device_2" })
      .evaluate((o) => (o as HTMLOptionElement).value);
    expect(next).not.toBe(before);
    await camera.selectOption(next);
    // The track Ana's self view plays now comes from the new camera ...
    const selfVideo = `[data-tile="${anaId}"]:not([data-screen]) video`;
    await waitFor("Ana's self view to come from the new camera", async () =>
      ana.page.evaluate(
        ({ selector, deviceId }) => {
          const stream = document.querySelector<HTMLVideoElement>(selector)?.srcObject;
          if (!(stream instanceof MediaStream)) return false;
          return stream.getVideoTracks()[0]?.getSettings().deviceId === deviceId;
        },
        { selector: selfVideo, deviceId: next },
      ),
    );
    expect(await camera.inputValue()).toBe(next);
    // ... and Bo keeps decoding it.
    await expectRising("Bo's decoded frames from Ana after the camera switch", () =>
      videoFramesFrom(bo, anaId),
    );
    const v = await view(bo);
    expect(v.tileStates[anaId]).toBe("encrypted");
    expect(v.decryptErrorsBy[anaId] ?? 0, v.errorLog.join("\n")).toBe(errorsBefore);
  });
});
