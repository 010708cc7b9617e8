// The lock-out against a lying signalling server (docs/key-schedule.md, Lock-out),
// in real headless Chromium on the real Worker and livekit-server. A loopback proxy in front of the
// Worker plays the malicious server: it withholds the fresh key (with or without its commit) from
// one member, or hides a leave from the leader. Carol, the leaver, stays on the SFU with every key
// she ever held, as a leaver colluding with the SFU would. Whatever the server does, no remaining
// member may keep sending media Carol can decrypt, or accept media under a key she holds, once the
// deadline has passed.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { encodeCallSecret, generateCallSecret, systemRandom } from "../../web/src/core";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import { type SignallingProxy, startSignallingProxy } from "../support/signalling-proxy";
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

const origin = inject("origin");

let browser: RunningBrowser;
let proxy: SignallingProxy;

interface Call {
  alice: Participant;
  bob: Participant;
  carol: Participant;
  id: (p: Participant) => string;
  /** The lowest epoch each one held by the time all decoded (from its key log, which starts at its join). */
  lowestEpochOf: (p: Participant) => number;
}

/** Alice (the leader), Bob and Carol join one new call through the proxy and decode each other. */
async function threePersonCall(): Promise<Call> {
  const link = `${proxy.origin}/${TEST_QUERY}#${encodeCallSecret(generateCallSecret(systemRandom))}`;
  const people: Participant[] = [];
  for (const name of ["Alice", "Bob", "Carol"]) {
    const participant = await openPage(await browser.newParticipant(proxy.origin), name);
    await participant.page.goto(link);
    await participant.page.getByRole("button", { name: "Join call" }).waitFor();
    await joinFromPreJoin(participant);
    people.push(participant);
  }
  const ids = new Map<Participant, string>();
  for (const participant of people) {
    await waitFor(`${participant.name} to see three verified members`, async () => {
      const v = await view(participant);
      return v.rosterIds.length === 3 && v.selfId !== undefined;
    });
    ids.set(participant, (await view(participant)).selfId ?? "");
  }
  const id = (p: Participant) => ids.get(p) ?? "";
  for (const participant of people) {
    for (const sender of people.filter((p) => p !== participant)) {
      await waitFor(
        `${participant.name} to decode video from ${sender.name}`,
        async () => ((await view(participant)).receive[id(sender)]?.videoFramesDecoded ?? 0) > 10,
        60_000,
      );
    }
  }
  const lowest = new Map<Participant, number>();
  for (const participant of people) {
    const v = await view(participant);
    const logged = v.keyLog.map((entry) => Number(/ e(\d+) i\d+$/.exec(entry)?.[1] ?? Number.NaN));
    lowest.set(participant, Math.min(...v.keyEpochs, ...logged.filter(Number.isInteger)));
  }
  const [alice, bob, carol] = people as [Participant, Participant, Participant];
  return { alice, bob, carol, id, lowestEpochOf: (p) => lowest.get(p) ?? 0 };
}

async function framesFrom(receiver: Participant, senderId: string): Promise<number> {
  return (await view(receiver)).receive[senderId]?.videoFramesDecoded ?? 0;
}

async function leaveSignallingOnly(participant: Participant) {
  await participant.page.evaluate(() =>
    (
      window as unknown as { __hushTest: { leaveSignallingOnly(): void } }
    ).__hushTest.leaveSignallingOnly(),
  );
}

async function closeCall(call: Call) {
  await Promise.allSettled([call.alice, call.bob, call.carol].map((p) => p.context.close()));
}

describe("a lying signalling server cannot keep a leaver on anyone's key", () => {
  beforeAll(async () => {
    proxy = await startSignallingProxy(origin);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.stop();
  });

  it("the fresh key and its commit withheld from Bob: he goes silent, says so, and recovers once the server behaves", async () => {
    const call = await threePersonCall();
    const { alice, bob, carol, id } = call;
    try {
      step("withholding every unicast and broadcast on its way to Bob; Carol leaves");
      proxy.withhold(id(bob), ["message", "broadcast"]);
      await leaveSignallingOnly(carol);
      for (const participant of [alice, bob]) {
        await waitFor(`${participant.name} to see Carol leave`, async () => {
          const v = await view(participant);
          return v.rosterIds.length === 2 && !v.rosterIds.includes(id(carol));
        });
      }
      await waitFor(
        "Alice to commit a fresh key without Carol",
        async () => (await view(alice)).rotations.some((r) => r.fresh && r.reason === "leave"),
        20_000,
      );
      const fresh = Math.max(
        ...(await view(alice)).rotations.filter((r) => r.fresh).map((r) => r.epoch),
      );
      await waitFor(
        "Bob to stop sending once the lock-out deadline passed without a key Carol lacks",
        async () => (await view(bob)).sendingEpoch === undefined,
        20_000,
      );
      expect(proxy.dropped(id(bob))).toBeGreaterThan(0);
      await bob.page
        .getByText(/waiting for a new key/i)
        .first()
        .waitFor({ timeout: 10_000 });
      // Nor does he accept a frame under a key Carol can derive: with the SFU's help she could
      // otherwise show him media in Alice's name for as long as the server keeps the key from him.
      // She can derive every epoch of her chain from the first one she was given; Bob may keep
      // the epochs below it (his own join key, which she never had).
      const carolLowest = call.lowestEpochOf(carol);
      expect(Number.isInteger(carolLowest) && carolLowest > 0, `Carol's first epoch`).toBe(true);
      const carolCanDerive = async () =>
        ((await view(bob)).mediaPlan.receive[id(alice)] ?? []).filter((e) => e >= carolLowest);
      await waitFor(
        async () =>
          `Bob's media plan to hold no key of Alice's at or above epoch ${carolLowest}, Carol's first; it holds ${await carolCanDerive()}`,
        async () => (await carolCanDerive()).length === 0,
        5_000,
      );
      step("Bob sends nothing; checking that nobody decodes a frame from him");
      // Frames Bob encrypted before the deadline may still be in flight for a moment.
      await sleep(1500);
      const carolBefore = await framesFrom(carol, id(bob));
      const aliceBefore = await framesFrom(alice, id(bob));
      await sleep(4000);
      expect(await framesFrom(carol, id(bob)), "Carol ← Bob while withheld").toBe(carolBefore);
      expect(await framesFrom(alice, id(bob)), "Alice ← Bob while withheld").toBe(aliceBefore);
      expect((await view(bob)).sendBlocked).toBeGreaterThan(0);

      step("the server behaves again");
      proxy.release(id(bob));
      await waitFor(
        "Bob to get the fresh key by asking the leader, and send with it",
        async () => ((await view(bob)).sendingEpoch ?? 0) >= fresh,
        45_000,
      );
      await waitFor(
        "Alice to decode Bob again",
        async () => (await framesFrom(alice, id(bob))) > aliceBefore + 10,
        30_000,
      );
      // Carol, with every key she ever held, still decodes nothing more from Bob.
      expect(await framesFrom(carol, id(bob)), "Carol ← Bob after recovery").toBe(carolBefore);
      const [a, b] = await Promise.all([view(alice), view(bob)]);
      expect(a.securityCode).toBe(b.securityCode);
    } finally {
      await closeCall(call);
    }
  });

  it("only the fresh key withheld from Bob, not its commit: he drops the old chain's ratchet for that epoch, so nothing fails to decrypt", async () => {
    const call = await threePersonCall();
    const { alice, bob, carol, id } = call;
    try {
      step("withholding every unicast on its way to Bob (broadcasts pass); Carol leaves");
      proxy.withhold(id(bob), ["message"]);
      await leaveSignallingOnly(carol);
      await waitFor(
        "Alice to commit a fresh key without Bob's ack",
        async () => (await view(alice)).rotations.some((r) => r.fresh && r.reason === "leave"),
        20_000,
      );
      const fresh = Math.max(
        ...(await view(alice)).rotations.filter((r) => r.fresh).map((r) => r.epoch),
      );
      // Before Bob read the commit he could not know his look-ahead ratchet for `fresh` was wrong.
      await waitFor(
        "Bob's media plan to hold no key of Alice's for the fresh epoch",
        async () => {
          const v = await view(bob);
          const plan = v.mediaPlan.receive[id(alice)];
          return plan !== undefined && !plan.includes(fresh) && !v.keyEpochs.includes(fresh);
        },
        20_000,
      );
      await sleep(500);
      const before = await view(bob);
      const errorsBefore = before.decryptErrorsBy[id(alice)] ?? 0;
      const refusedBefore = before.refused[id(alice)]?.keyNotAllowed ?? 0;
      step(
        "Alice sends under the fresh key: Bob's guard refuses it as not held, livekit fails none",
      );
      await sleep(4000);
      const during = await view(bob);
      expect(during.decryptErrorsBy[id(alice)] ?? 0, "Bob's decrypt failures of Alice").toBe(
        errorsBefore,
      );
      expect(during.refused[id(alice)]?.keyNotAllowed ?? 0).toBeGreaterThan(refusedBefore);
      expect(proxy.dropped(id(bob))).toBeGreaterThan(0);

      step("the server behaves again");
      proxy.release(id(bob));
      const aliceFrames = await framesFrom(bob, id(alice));
      await waitFor(
        "Bob to get the fresh key by asking the leader, and send with it",
        async () => ((await view(bob)).sendingEpoch ?? 0) >= fresh,
        45_000,
      );
      await waitFor(
        "Bob to decode Alice again",
        async () => (await framesFrom(bob, id(alice))) > aliceFrames + 10,
        30_000,
      );
      const [a, b] = await Promise.all([view(alice), view(bob)]);
      expect(a.securityCode).toBe(b.securityCode);
    } finally {
      await closeCall(call);
    }
  });

  it("the leave hidden from the leader: Bob, who saw it, stops sending with the key Carol holds", async () => {
    const call = await threePersonCall();
    const { alice, bob, carol, id } = call;
    try {
      step("hiding every leave from Alice (the leader); Carol leaves");
      proxy.withhold(id(alice), ["member-left"]);
      await leaveSignallingOnly(carol);
      await waitFor(`Bob to see Carol leave`, async () => {
        const v = await view(bob);
        return v.rosterIds.length === 2 && !v.rosterIds.includes(id(carol));
      });
      await waitFor(
        "Bob to stop sending once the lock-out deadline passed",
        async () => (await view(bob)).sendingEpoch === undefined,
        20_000,
      );
      await sleep(1500);
      const carolBefore = await framesFrom(carol, id(bob));
      await sleep(4000);
      expect(await framesFrom(carol, id(bob)), "Carol ← Bob").toBe(carolBefore);
      // The lie shows: Alice still lists Carol, so the two security codes differ.
      const [a, b] = await Promise.all([view(alice), view(bob)]);
      expect(a.rosterIds).toContain(id(carol));
      expect(a.securityCode).not.toBe(b.securityCode);
      proxy.release(id(alice));
    } finally {
      await closeCall(call);
    }
  });
});
