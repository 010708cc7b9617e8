// A three-person call in real headless Chromium through the real Worker and livekit-server: join by
// link, decode each other's encrypted media, rotate keys every 3 s, show an eavesdropper nothing
// and lock a leaver out. The tests share one call and run in order, as a call would unfold.
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { RoomServiceClient } from "livekit-server-sdk";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ID_PATTERN } from "../../protocol/signalling";
import { decodeCallSecret, roomIdOf } from "../../web/src/core";
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
  TEST_QUERY,
  tilePixels,
  view,
  waitFor,
  waitForFreshKeyWithout,
} from "./pages";

const origin = inject("origin");
const livekit = inject("livekit");
/**
 * Where the screenshots go: test-results/screenshots/ (ignored by git) on every run, so running the
 * suite leaves the work tree clean. `npm run screenshots` sets HUSH_SCREENSHOTS=web/screenshots to
 * refresh the README's images on purpose; a relative path is taken from the repository root.
 */
const SCREENSHOTS = `${resolve(
  fileURLToPath(new URL("../../", import.meta.url)),
  process.env.HUSH_SCREENSHOTS ?? "test-results/screenshots",
)}/`;

let browser: RunningBrowser;
let alice: Participant;
let bob: Participant;
let carol: Participant;
let everyone: Participant[];
let inviteLink: string;
let roomId: string;
const ids = new Map<Participant, string>();

function idOf(participant: Participant): string {
  const id = ids.get(participant);
  if (!id) throw new Error(`${participant.name} has no participant id yet`);
  return id;
}

function others(participant: Participant): Participant[] {
  return everyone.filter((p) => p !== participant);
}

/** Console lines of every page, for failure messages. */
function consoleTail(): string {
  return everyone.flatMap((p) => p.console.slice(-15)).join("\n");
}

async function framesFrom(participant: Participant, sender: Participant): Promise<number> {
  return (await view(participant)).receive[idOf(sender)]?.videoFramesDecoded ?? 0;
}

describe("a three-person end-to-end encrypted call", () => {
  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    browser = await launchBrowser();
    alice = await openPage(await browser.newParticipant(origin), "Alice");
    bob = await openPage(await browser.newParticipant(origin), "Bob");
    carol = await openPage(await browser.newParticipant(origin), "Carol");
    everyone = [alice, bob, carol];
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("an incomplete invite link gets a screen that says what to do", async () => {
    await carol.page.goto(`${origin}/${TEST_QUERY}#not-a-whole-secret`);
    await carol.page.getByRole("heading", { name: "This invite link does not work" }).waitFor();
    expect(await carol.page.getByRole("alert").textContent()).toContain(
      "Ask the person who invited you",
    );
  });

  it("creates a call from the keyboard, shows the invite link and the pre-join screen", async () => {
    const page = alice.page;
    await page.goto(`${origin}/${TEST_QUERY}`);
    // Keyboard only: the first Tab reaches the "Ask to join" box (left unticked: an open call),
    // the second reaches "New call", and Enter presses it.
    await page.keyboard.press("Tab");
    expect(
      await page.evaluate(() => document.activeElement?.closest("label")?.textContent?.trim()),
    ).toBe("Ask to join: I let people in");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe("New call");
    await page.keyboard.press("Enter");
    const linkInput = page.getByLabel("Invite link");
    inviteLink = await linkInput.inputValue();
    expect(inviteLink).toMatch(new RegExp(`^${origin}/#[A-Za-z0-9_-]{43}$`));
    const fragment = inviteLink.slice(inviteLink.indexOf("#"));
    roomId = roomIdOf(decodeCallSecret(fragment));
    // The preview shows the camera before anyone joins.
    await page.locator(".preview video").waitFor();
    await waitFor("the camera preview to play", () =>
      page.evaluate(
        () => (document.querySelector(".preview video") as HTMLVideoElement).videoWidth > 0,
      ),
    );
    await page.getByLabel(/Your name/).fill("Alice");
    // Devices opened and listed: the join button is ready.
    await waitFor("the pre-join screen to settle", async () =>
      page.getByRole("button", { name: "Join call" }).isEnabled(),
    );
    await waitFor("the device lists", async () => (await page.locator("option").count()) >= 2);
    await page.screenshot({ path: `${SCREENSHOTS}prejoin.png` });
  });

  it("three participants join by link; each decodes video and audio from the two others", async () => {
    await joinFromPreJoin(alice);
    const fragment = inviteLink.slice(inviteLink.indexOf("#"));
    for (const participant of [bob, carol]) {
      // Opening a link goes straight to the pre-join screen.
      await participant.page.goto(`${origin}/${TEST_QUERY}${fragment}`);
      await participant.page.getByRole("button", { name: "Join call" }).waitFor();
      await joinFromPreJoin(participant);
    }
    for (const participant of everyone) {
      await waitFor(`${participant.name} to see three verified members`, async () => {
        const v = await view(participant);
        return v.rosterIds.length === 3 && v.selfId !== undefined;
      });
      const v = await view(participant);
      ids.set(participant, v.selfId ?? "");
    }
    // Everyone decodes video from both others (counts rise) ...
    for (const participant of everyone) {
      for (const sender of others(participant)) {
        await waitFor(
          `${participant.name} to decode video from ${sender.name}\n${consoleTail()}`,
          async () => (await framesFrom(participant, sender)) > 10,
          60_000,
        );
      }
    }
    const before = await Promise.all(everyone.map(view));
    await sleep(3000);
    const after = await Promise.all(everyone.map(view));
    everyone.forEach((participant, i) => {
      for (const sender of others(participant)) {
        const id = idOf(sender);
        step(
          `${participant.name} <- ${sender.name}: video frames ${before[i]?.receive[id]?.videoFramesDecoded} -> ${after[i]?.receive[id]?.videoFramesDecoded} in 3 s, decoded audio samples ${before[i]?.receive[id]?.audioSamplesDecoded} -> ${after[i]?.receive[id]?.audioSamplesDecoded}`,
        );
      }
    });
    everyone.forEach((participant, i) => {
      for (const sender of others(participant)) {
        const id = idOf(sender);
        const b = before[i]?.receive[id];
        const a = after[i]?.receive[id];
        expect(a?.videoFramesDecoded, `${participant.name} ← ${sender.name} video`).toBeGreaterThan(
          b?.videoFramesDecoded ?? Number.POSITIVE_INFINITY,
        );
        // ... and audio: samples that came from decoded packets (not concealment) with energy.
        expect(
          a?.audioSamplesDecoded,
          `${participant.name} ← ${sender.name} audio`,
        ).toBeGreaterThan(b?.audioSamplesDecoded ?? Number.POSITIVE_INFINITY);
        expect(a?.totalAudioEnergy ?? 0).toBeGreaterThan(
          b?.totalAudioEnergy ?? Number.POSITIVE_INFINITY,
        );
      }
    });
    // The frames are pictures, not black: the fake camera's pattern has real contrast.
    for (const participant of everyone) {
      for (const sender of others(participant)) {
        const pixels = await tilePixels(participant, idOf(sender));
        expect(pixels.width, `${participant.name} renders ${sender.name}`).toBeGreaterThan(0);
        expect(pixels.mean).toBeGreaterThan(20);
        expect(pixels.variance).toBeGreaterThan(100);
      }
      const v = await view(participant);
      for (const sender of others(participant)) {
        expect(v.tileStates[idOf(sender)]).toBe("encrypted");
      }
      // The UI names people from their sealed announcements.
      for (const sender of others(participant)) {
        await expect
          .poll(() => participant.page.locator(`[data-tile="${idOf(sender)}"]`).textContent())
          .toContain(sender.name);
      }
    }
    // Everyone computes the same security code over the same verified roster.
    const codes = new Set((await Promise.all(everyone.map(view))).map((v) => v.securityCode));
    expect(codes.size).toBe(1);
    expect([...codes][0]).toBeTruthy();
    await waitFor(
      "Alice's grid to show three encrypted tiles",
      async () => (await alice.page.locator('[data-crypto="encrypted"]').count()) === 2,
    );
    await alice.page.screenshot({ path: `${SCREENSHOTS}call.png` });
    // A narrow (phone) screen: everything fits without horizontal scrolling.
    await bob.page.setViewportSize({ width: 390, height: 844 });
    await sleep(500);
    expect(
      await bob.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
    ).toBe(true);
    await bob.page.screenshot({ path: `${SCREENSHOTS}call-narrow.png` });
    await bob.page.setViewportSize({ width: 1200, height: 720 });
  });

  it("rotates every 3 s: over 5 rotations nobody logs a decrypt failure and decoding keeps going", async () => {
    const start = await Promise.all(everyone.map(view));
    const startEpoch = Math.max(...start.map((v) => v.epoch ?? 0));
    const errorsAtStart = start.map((v) => v.decryptErrors);
    let lastFrames = await Promise.all(
      everyone.map(async (p) => Promise.all(others(p).map((s) => framesFrom(p, s)))),
    );
    let seenEpoch = startEpoch;
    let windows = 0;
    while (seenEpoch < startEpoch + 5) {
      await waitFor(
        async () =>
          `an epoch after ${seenEpoch}: ${JSON.stringify(await Promise.all(everyone.map(view)))}`,
        async () => {
          const views = await Promise.all(everyone.map(view));
          return views.every((v) => (v.sendingEpoch ?? 0) > seenEpoch);
        },
        20_000,
      );
      seenEpoch = Math.min(
        ...(await Promise.all(everyone.map(view))).map((v) => v.sendingEpoch ?? 0),
      );
      // Give the new epoch's frames a moment, then check every stream still decodes.
      await sleep(1200);
      const frames = await Promise.all(
        everyone.map(async (p) => Promise.all(others(p).map((s) => framesFrom(p, s)))),
      );
      for (const [i, row] of frames.entries()) {
        for (const [j, count] of row.entries()) {
          expect(count, `stream ${i}←${j} in epoch ${seenEpoch}`).toBeGreaterThan(
            lastFrames[i]?.[j] ?? 0,
          );
        }
      }
      lastFrames = frames;
      windows += 1;
    }
    expect(windows).toBeGreaterThanOrEqual(1);
    const end = await Promise.all(everyone.map(view));
    step(
      `rotation: epochs ${startEpoch} -> ${end.map((v) => v.sendingEpoch).join("/")}, ${windows} epoch windows checked, decrypt failures ${errorsAtStart.join("/")} -> ${end.map((v) => v.decryptErrors).join("/")}`,
    );
    expect(Math.min(...end.map((v) => v.sendingEpoch ?? 0))).toBeGreaterThanOrEqual(startEpoch + 5);
    end.forEach((v, i) => {
      expect(
        v.decryptErrors,
        `${everyone[i]?.name}'s decrypt failures: ${JSON.stringify(v.errorLog)} keys ${JSON.stringify(v.keyEpochs)}`,
      ).toBe(errorsAtStart[i]);
      // The badge shows the epoch and a recent rotation.
      expect(v.lastRotationAt).toBeGreaterThan(Date.now() - 10_000);
    });
    await expect
      .poll(() => alice.page.locator("[data-epoch]").getAttribute("data-epoch"))
      .not.toBe(String(startEpoch));
  });

  it("shows the SFU only ephemeral ids: no names, no metadata", async () => {
    const client = new RoomServiceClient(livekit.httpUrl, livekit.apiKey, livekit.apiSecret);
    const rooms = await client.listRooms([roomId]);
    expect(rooms).toHaveLength(1);
    expect(rooms[0]?.metadata ?? "").toBe("");
    const participants = await client.listParticipants(roomId);
    expect(participants.map((p) => p.identity).sort()).toEqual(everyone.map(idOf).sort());
    for (const participant of participants) {
      expect(participant.identity).toMatch(ID_PATTERN);
      expect(participant.name).toBe("");
      expect(participant.metadata).toBe("");
      expect(Object.keys(participant.attributes ?? {})).toEqual([]);
    }
    const everything = JSON.stringify({ rooms, participants });
    for (const name of ["Alice", "Bob", "Carol"]) expect(everything).not.toContain(name);
  });

  it("eavesdroppers with a valid LiveKit token but no keys receive the tracks and decode nothing", async () => {
    const context = await browser.newParticipant(origin);
    const plainId = "eavesdropperPlain000000";
    const keyedId = "eavesdropperWrongKey000";
    const plain = await openEavesdropper(context, origin);
    const keyed = await openEavesdropper(context, origin);
    try {
      step("eavesdroppers connecting");
      await eavesdrop(plain, "plain", livekit.url, await mintToken(livekit, roomId, plainId));
      await eavesdrop(keyed, "wrong-key", livekit.url, await mintToken(livekit, roomId, keyedId));
      step("eavesdroppers connected");
      for (const page of [plain, keyed]) {
        await waitFor(
          async () => `all six tracks to arrive: ${JSON.stringify(await eavesdropperStats(page))}`,
          async () => {
            const stats = await eavesdropperStats(page);
            return stats.length === 6 && stats.every((s) => s.packetsReceived > 0);
          },
        );
      }
      step("eavesdroppers receive all tracks");
      await sleep(4000);
      const plainStats = await eavesdropperStats(plain);
      const keyedStats = await eavesdropperStats(keyed);
      for (const [mode, stats] of [
        ["plain", plainStats],
        ["wrong-key", keyedStats],
      ] as const) {
        for (const t of stats) {
          step(
            `${mode} eavesdropper <- ${t.participant} ${t.kind}: ${t.packetsReceived} packets, ${t.framesDecoded} frames decoded, ${t.samplesDecoded} audio samples decoded`,
          );
        }
      }
      for (const stats of [plainStats, keyedStats]) {
        expect(stats.filter((s) => s.kind === "video")).toHaveLength(3);
        expect(stats.filter((s) => s.kind === "audio")).toHaveLength(3);
        for (const track of stats) {
          expect(
            track.packetsReceived,
            `${track.participant} ${track.kind} packets`,
          ).toBeGreaterThan(30);
        }
      }
      // With any key but the right one, AES-GCM authenticates nothing: not a frame, not a sample.
      for (const track of keyedStats) {
        expect(track.framesDecoded, `wrong key: ${track.participant} ${track.kind}`).toBe(0);
        expect(track.samplesDecoded, `wrong key: ${track.participant} ${track.kind}`).toBe(0);
      }
      // Without E2EE, the decoder gets ciphertext: VP8 keyframe headers stay in the clear (the
      // SFU needs them), so the odd frame "decodes", but into noise, never into the picture.
      const participantView = await fakeCameraLikeness(
        alice.page,
        `[data-tile="${idOf(bob)}"] video`,
      );
      expect(
        participantView[0],
        "the likeness measure recognises the real picture",
      ).toBeGreaterThan(0.8);
      const eavesdropped = await fakeCameraLikeness(plain, "video[data-eavesdropped]");
      step(
        `picture likeness: participant ${participantView[0]}, plain eavesdropper ${eavesdropped.join(", ")}`,
      );
      // One <video> per subscription (a resubscription adds one): at least the three cameras.
      expect(eavesdropped.length).toBeGreaterThanOrEqual(3);
      for (const likeness of eavesdropped) expect(likeness).toBeLessThan(0.3);
      step("eavesdroppers decode nothing");
      // Every participant shows both eavesdroppers as unverified intruders, with no media.
      for (const participant of everyone) {
        await waitFor(`${participant.name} to flag the intruders`, async () => {
          const v = await view(participant);
          return v.intruders.includes(plainId) && v.intruders.includes(keyedId);
        });
        const v = await view(participant);
        expect(v.tileStates[plainId]).toBe("intruder");
        expect(v.tileStates[keyedId]).toBe("intruder");
      }
      await alice.page.screenshot({ path: `${SCREENSHOTS}intruders.png` });
      step("intruders flagged");
    } finally {
      await leaveEavesdropper(plain);
      await leaveEavesdropper(keyed);
      await context.close();
    }
    for (const participant of everyone) {
      await waitFor(
        `${participant.name} to stop flagging intruders`,
        async () => (await view(participant)).intruders.length === 0,
      );
    }
  });

  it("a leaver is locked out: the rest commit a fresh key, keep decoding, its last keys decrypt nothing new, and nothing it keeps publishing decodes", async () => {
    const carolId = idOf(carol);
    const stayers = [alice, bob];
    const carolBefore = await view(carol);
    const baseline = await Promise.all(stayers.map(view));
    expect(carolBefore.receive[idOf(alice)]?.videoFramesDecoded ?? 0).toBeGreaterThan(0);
    step("Carol leaves the signalling");
    // Carol leaves the call's signalling but, like a leaver colluding with the SFU, stays
    // subscribed to the media with every key she held.
    await carol.page.evaluate(() =>
      (
        window as unknown as { __hushTest: { leaveSignallingOnly(): void } }
      ).__hushTest.leaveSignallingOnly(),
    );
    // The leader (whoever leads now) drew a fresh key for the leave and everyone sends with it.
    const freshEpoch = await waitForFreshKeyWithout(stayers, carolId, view);
    step(`fresh key ${freshEpoch} committed`);
    // Frames encrypted before the commit may still be in flight for a moment.
    await sleep(1500);
    const lockedOut = await view(carol);
    const stayed = await Promise.all(stayers.map(view));
    await sleep(4000);
    const lockedOutLater = await view(carol);
    const stayedLater = await Promise.all(stayers.map(view));
    for (const sender of stayers) {
      const id = idOf(sender);
      step(
        `after the commit, Carol <- ${sender.name}: packets ${lockedOut.receive[id]?.videoPacketsReceived} -> ${lockedOutLater.receive[id]?.videoPacketsReceived}, frames ${lockedOut.receive[id]?.videoFramesDecoded} -> ${lockedOutLater.receive[id]?.videoFramesDecoded}`,
      );
    }
    step(
      `after the commit, Alice <- Bob frames ${stayed[0]?.receive[idOf(bob)]?.videoFramesDecoded} -> ${stayedLater[0]?.receive[idOf(bob)]?.videoFramesDecoded}, Bob <- Alice ${stayed[1]?.receive[idOf(alice)]?.videoFramesDecoded} -> ${stayedLater[1]?.receive[idOf(alice)]?.videoFramesDecoded}`,
    );
    for (const sender of stayers) {
      const id = idOf(sender);
      // Carol still receives the ciphertext ...
      expect(lockedOutLater.receive[id]?.videoPacketsReceived ?? 0).toBeGreaterThan(
        lockedOut.receive[id]?.videoPacketsReceived ?? Number.POSITIVE_INFINITY,
      );
      // ... but decrypts not one more frame.
      expect(lockedOutLater.receive[id]?.videoFramesDecoded, `Carol ← ${sender.name}`).toBe(
        lockedOut.receive[id]?.videoFramesDecoded,
      );
    }
    expect(lockedOutLater.decryptErrors).toBeGreaterThan(carolBefore.decryptErrors);
    // Alice and Bob keep decoding each other, without decrypt failures.
    stayers.forEach((_participant, i) => {
      const sender = stayers[1 - i] as Participant;
      const id = idOf(sender);
      expect(stayedLater[i]?.receive[id]?.videoFramesDecoded ?? 0).toBeGreaterThan(
        stayed[i]?.receive[id]?.videoFramesDecoded ?? Number.POSITIVE_INFINITY,
      );
      expect(stayedLater[i]?.decryptErrorsBy[id] ?? 0).toBe(baseline[i]?.decryptErrorsBy[id] ?? 0);
      // Carol, still on the SFU but no longer a member, now shows as an intruder.
      expect(stayedLater[i]?.intruders).toContain(carolId);
    });
    // Carol keeps publishing, encrypting with the last key she was given: Alice and Bob still
    // receive her audio packets, but their key rings no longer hold any key of hers, so not one
    // more frame of hers decodes, and their E2EE workers count her frames as refused (not as
    // decrypt errors). Her video stops reaching them at all: an intruder's tile shows no video,
    // so livekit's adaptive stream has the SFU pause it.
    stayers.forEach((participant, i) => {
      expect(baseline[i]?.receive[carolId]?.videoFramesDecoded ?? 0).toBeGreaterThan(0);
      expect(stayedLater[i]?.receive[carolId]?.audioPacketsReceived ?? 0).toBeGreaterThan(
        stayed[i]?.receive[carolId]?.audioPacketsReceived ?? Number.POSITIVE_INFINITY,
      );
      expect(
        stayedLater[i]?.receive[carolId]?.videoFramesDecoded,
        `${participant.name} ← Carol`,
      ).toBe(stayed[i]?.receive[carolId]?.videoFramesDecoded);
      expect(stayedLater[i]?.refused[carolId]?.keyNotAllowed ?? 0).toBeGreaterThan(
        stayed[i]?.refused[carolId]?.keyNotAllowed ?? Number.POSITIVE_INFINITY,
      );
      expect(stayedLater[i]?.mediaPlan.receive[carolId]).toBeUndefined();
    });
    step(
      `after the commit, Alice <- Carol frames ${stayed[0]?.receive[carolId]?.videoFramesDecoded} -> ${stayedLater[0]?.receive[carolId]?.videoFramesDecoded}, video packets ${stayed[0]?.receive[carolId]?.videoPacketsReceived} -> ${stayedLater[0]?.receive[carolId]?.videoPacketsReceived}, audio packets ${stayed[0]?.receive[carolId]?.audioPacketsReceived} -> ${stayedLater[0]?.receive[carolId]?.audioPacketsReceived}, refused ${JSON.stringify(stayedLater[0]?.refused[carolId])}`,
    );
    // Leaving through the UI ends her media too.
    await carol.page.getByRole("button", { name: "Leave" }).click();
    await carol.page.getByRole("heading", { name: "You left the call" }).waitFor();
    for (const participant of stayers) {
      await waitFor(
        `${participant.name} to stop seeing Carol`,
        async () => !(await view(participant)).intruders.includes(carolId),
      );
    }
  });
});
