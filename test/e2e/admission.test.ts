// Ask-to-join calls (docs/admission.md) in real headless Chromium through the real Worker and
// livekit-server. The host starts the call with "Ask to join"; a joiner with the link waits with
// nothing until the host admits it, then gets media; a declined joiner, and an eavesdropper with a
// valid SFU token (what the Worker hands a waiting joiner), get nothing; a removed member's tile
// goes, and with its SFU connection and every key it held kept (a removed member colluding with the
// SFU), it decodes nothing sent after the lock-out. The tests share one call and run in order.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decodeInvite, roomIdOf } from "../../web/src/core";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import {
  eavesdrop,
  eavesdropperStats,
  leaveEavesdropper,
  mintToken,
  openEavesdropper,
} from "./eavesdropper";
import {
  joinFromPreJoin,
  openPage,
  type Participant,
  sleep,
  step,
  TEST_QUERY,
  view,
  waitFor,
} from "./pages";
import { expectAccessible } from "./axe";
import { screenshotPath } from "./screenshots";

const origin = inject("origin");
const livekit = inject("livekit");

let browser: RunningBrowser;
let host: Participant;
let ben: Participant;
let link: string;
const ids = new Map<Participant, string>();

function idOf(participant: Participant): string {
  const id = ids.get(participant);
  if (!id) throw new Error(`${participant.name} has no participant id yet`);
  return id;
}

async function framesFrom(receiver: Participant, sender: Participant): Promise<number> {
  return (await view(receiver)).receive[idOf(sender)]?.videoFramesDecoded ?? 0;
}

/** Opens the link and asks to join; resolves once the page shows the waiting room. */
async function askToJoin(name: string): Promise<Participant> {
  const participant = await openPage(await browser.newParticipant(origin), name);
  await participant.page.goto(link);
  await participant.page.getByLabel(/Your name/).fill(name);
  await participant.page.getByRole("button", { name: "Join call" }).click();
  await participant.page.getByRole("heading", { name: "Waiting to be let in" }).waitFor();
  await waitFor(
    `${name} to know its own id`,
    async () => (await view(participant)).selfId !== undefined,
  );
  ids.set(participant, (await view(participant)).selfId ?? "");
  return participant;
}

async function waitForAsking(participant: Participant, who: Participant) {
  await participant.page
    .getByRole("button", { name: `Admit ${who.name}` })
    .waitFor({ timeout: 30_000 });
}

async function decodeEachOther(a: Participant, b: Participant) {
  for (const [receiver, sender] of [
    [a, b],
    [b, a],
  ] as const) {
    await waitFor(
      `${receiver.name} to decode video from ${sender.name}`,
      async () => (await framesFrom(receiver, sender)) > 10,
      60_000,
    );
  }
}

describe("ask to join", () => {
  beforeAll(async () => {
    browser = await launchBrowser();
    host = await openPage(await browser.newParticipant(origin), "Hana");
    await host.page.goto(`${origin}/${TEST_QUERY}`);
    await host.page.getByLabel(/Ask to join/).check();
    await host.page.getByRole("button", { name: "New call" }).click();
    await joinFromPreJoin(host);
    link = host.page.url();
    await waitFor(
      "the host to be in its call",
      async () => (await view(host)).rosterIds.length === 1,
    );
    ids.set(host, (await view(host)).selfId ?? "");
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("the link names the host's key; the host is admitted and hosts", async () => {
    // The host's participant list, with the host marked, as the host sees it.
    await host.page.locator(`[data-participant="${idOf(host)}"]`, { hasText: "host" }).waitFor();
    const invite = decodeInvite(new URL(link).hash);
    expect(invite.hostKey?.length).toBe(32);
    const v = await view(host);
    expect(v.admission).toEqual({ status: "admitted", role: "host", waitingIds: [] });
  });

  it("a joiner waits with nothing, the host sees its name and admits it, and it gets media", async () => {
    ben = await askToJoin("Ben");
    step("Ben waits");
    await waitForAsking(host, ben);
    const waiting = await view(ben);
    expect(waiting.admission?.status).toBe("waiting");
    expect(waiting.keyEpochs).toEqual([]);
    expect(waiting.rosterIds).toEqual([]);
    // No media connection while waiting: nothing to decrypt, and no tile on anyone's screen.
    expect(waiting.receive).toEqual({});
    expect((await view(host)).admission?.waitingIds).toEqual([idOf(ben)]);
    expect((await view(host)).rosterIds).toEqual([idOf(host)]);
    await host.page.screenshot({ path: await screenshotPath("admission-prompt.png") });
    await ben.page.screenshot({ path: await screenshotPath("admission-waiting.png") });
    await expectAccessible(host.page, "host's call with someone asking to join");
    await expectAccessible(ben.page, "waiting room");
    step("the host admits Ben");
    await host.page.getByRole("button", { name: "Admit Ben" }).click();
    await ben.page.locator(".call").waitFor({ timeout: 30_000 });
    await decodeEachOther(host, ben);
    const [h, b] = await Promise.all([view(host), view(ben)]);
    expect(b.admission?.status).toBe("admitted");
    expect(h.rosterIds.sort()).toEqual([idOf(host), idOf(ben)].sort());
    expect(b.rosterIds.sort()).toEqual(h.rosterIds.sort());
    expect(b.securityCode).toBe(h.securityCode);
    // Names travel under the call's keys: each shows the other's.
    await ben.page.locator(`[data-participant="${idOf(host)}"]`, { hasText: "Hana" }).waitFor();
    await host.page.locator(`[data-participant="${idOf(ben)}"]`, { hasText: "Ben" }).waitFor();
    // Ben, a member, is not a host: he gets no admit prompt and no remove button.
    await expect(ben.page.getByRole("button", { name: /^Remove/ }).count()).resolves.toBe(0);
  });

  it("a declined joiner and an eavesdropper with a valid SFU token get nothing", async () => {
    const dee = await askToJoin("Dee");
    const context = await browser.newParticipant(origin);
    const eavesdropper = await openEavesdropper(context, origin);
    try {
      await waitForAsking(host, dee);
      // What a waiting joiner's modified client could do with the token the Worker gave it:
      // subscribe to every track. It has no key, so it runs livekit's E2EE with a guessed one.
      const roomId = roomIdOf(decodeInvite(new URL(link).hash).secret);
      const token = await mintToken(livekit, roomId, "waitingEavesdropper000");
      await eavesdrop(eavesdropper, "wrong-key", livekit.url, token);
      await waitFor(
        async () =>
          `the eavesdropper to get tracks: ${JSON.stringify(await eavesdropperStats(eavesdropper))}`,
        async () => {
          const stats = await eavesdropperStats(eavesdropper);
          return stats.filter((s) => s.packetsReceived > 30).length >= 4;
        },
      );
      step("the host declines Dee");
      await host.page.getByRole("button", { name: "Decline Dee" }).click();
      await dee.page
        .getByRole("heading", { name: "The host did not let you in" })
        .waitFor({ timeout: 30_000 });
      await expectAccessible(dee.page, "declined screen");
      await sleep(3000);
      for (const track of await eavesdropperStats(eavesdropper)) {
        expect(track.packetsReceived, `${track.participant} ${track.kind} packets`).toBeGreaterThan(
          30,
        );
        expect(track.framesDecoded, `${track.participant} ${track.kind}`).toBe(0);
        expect(track.samplesDecoded, `${track.participant} ${track.kind}`).toBe(0);
      }
      const h = await view(host);
      expect(h.rosterIds).not.toContain(idOf(dee));
      expect(h.admission?.waitingIds).toEqual([]);
      await expect(host.page.getByRole("button", { name: "Admit Dee" }).count()).resolves.toBe(0);
    } finally {
      await leaveEavesdropper(eavesdropper).catch(() => {});
      await context.close();
      await dee.context.close();
    }
  });

  it("a removed member's tile goes, and with every key it held it decodes nothing new", async () => {
    const cy = await askToJoin("Cy");
    try {
      await waitForAsking(host, cy);
      await host.page.getByRole("button", { name: "Admit Cy" }).click();
      await cy.page.locator(".call").waitFor({ timeout: 30_000 });
      await decodeEachOther(host, cy);
      await decodeEachOther(ben, cy);
      step("Cy keeps her SFU connection and every key she holds; the host removes her");
      await cy.page.evaluate(() =>
        (window as unknown as { __hushTest: { freezeMedia(): void } }).__hushTest.freezeMedia(),
      );
      await host.page.getByRole("button", { name: "Remove Cy" }).click();
      for (const stayer of [host, ben]) {
        // Her tile goes; as she stays on the SFU, the server's participant shows as unverified,
        // with no picture and no sound.
        await waitFor(`${stayer.name} to drop Cy's tile`, async () => {
          const v = await view(stayer);
          return !v.rosterIds.includes(idOf(cy)) && v.tileStates[idOf(cy)] === "intruder";
        });
        await expect(stayer.page.locator(`[data-tile="${idOf(cy)}"] video`).count()).resolves.toBe(
          0,
        );
      }
      await waitFor(
        "the host to rotate to a fresh key without Cy",
        async () => (await view(host)).rotations.some((r) => r.fresh && r.reason === "leave"),
        20_000,
      );
      // Past the lock-out deadline (2.5 s) and frames in flight.
      await sleep(5000);
      const fromHost = await framesFrom(cy, host);
      const fromBen = await framesFrom(cy, ben);
      await sleep(5000);
      expect(await framesFrom(cy, host), "Cy ← host after removal").toBe(fromHost);
      expect(await framesFrom(cy, ben), "Cy ← Ben after removal").toBe(fromBen);
      // The two who stayed still see each other, under one security code.
      const hostFromBen = await framesFrom(host, ben);
      await waitFor(
        "the host to keep decoding Ben",
        async () => (await framesFrom(host, ben)) > hostFromBen + 10,
      );
      const [h, b] = await Promise.all([view(host), view(ben)]);
      expect(h.securityCode).toBe(b.securityCode);
    } finally {
      await cy.context.close();
    }
  });

  it("an honest member who is removed is told, leaves, and its tile is gone", async () => {
    await host.page.getByRole("button", { name: "Remove Ben" }).click();
    await ben.page
      .getByRole("heading", { name: "You were removed from the call" })
      .waitFor({ timeout: 30_000 });
    await expectAccessible(ben.page, "removed screen");
    await waitFor("the host to show no tile of Ben's at all", async () => {
      const v = await view(host);
      return !v.rosterIds.includes(idOf(ben)) && v.tileStates[idOf(ben)] === undefined;
    });
  });
});
