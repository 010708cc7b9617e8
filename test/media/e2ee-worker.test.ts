// The app's media path against livekit-client's real E2EE worker code (issue 9, findings 3, 4 and
// 6): our MediaKeys adapter applies the key plan, web/src/media/e2eeWorker.ts wraps livekit's
// worker, and frames are encrypted independently of livekit (worker-harness.ts) so an attacker's
// frames are whatever we choose. Every attack test was first run against the code before the fix:
// HUSH_MEDIA_BASELINE=<path of the old e2eeWorker.ts> drives the old worker with the old add-only
// key wiring, and the attacks then get their frames through.
import { describe, expect, it } from "vitest";
import { senderKeyOf } from "../../web/src/core";
import { HOLD_FRAMES } from "../../web/src/media/frameHold";
import { guardPlanOf, ringsOf } from "../../web/src/media/keyPlan";
import type { MediaKeys } from "../../web/src/media/mediaKeys";
import {
  copyFrame,
  type FakeFrame,
  FrameWriter,
  GUARDED_WORKER,
  openFrame,
  Pipe,
  settle,
  settleUntil,
  toPage,
  toWorker,
  deliver,
  framesFrom,
  workerCalls,
} from "./worker-harness";
import { randomId } from "../support/ids";

const BASELINE = process.env.HUSH_MEDIA_BASELINE;

const { call, page } = workerCalls(BASELINE ?? GUARDED_WORKER, BASELINE !== undefined);

/**
 * Frames from `sender` as they arrive at our receiver (decode side). livekit enables decryption
 * for a sender whose track the SFU reports as encrypted; `announced: false` is a sender the SFU
 * never reported that way (no `enable` at all).
 */
async function receiver(sender: string, scriptTransform = false, announced = true) {
  if (announced) page()?.enable(sender, true);
  const pipe = new Pipe("decode", sender, undefined, scriptTransform);
  await settle();
  return pipe;
}

function refusedFor(participantId: string) {
  for (let i = toPage.length - 1; i >= 0; i -= 1) {
    const m = toPage[i] as {
      kind?: string;
      data?: { receive: { participantId: string; keyNotAllowed: number }[] };
    };
    if (m.kind !== "hush:refused" || !m.data) continue;
    return m.data.receive.find((entry) => entry.participantId === participantId);
  }
  return undefined;
}

describe("frames under keys the core holds", () => {
  it("decrypt across 20 rotations with zero drops, and our own frames leave under our key", async () => {
    const { self, others, session } = await call({ epochs: [1, 2], sending: 1 });
    const [a] = others as [string];
    const incoming = await receiver(a);
    const outgoing = new Pipe("encode", self);
    await settle();
    const writer = new FrameWriter();
    const ours = new FrameWriter();
    let sent = 0;
    for (let epoch = 1; epoch <= 20; epoch += 1) {
      // The schedule: look-ahead e+1 held, switch to e, keep three past epochs.
      session.hold(epoch + 1);
      session.set({ sendingEpoch: epoch });
      if (epoch > 3) session.drop(epoch - 3);
      await settle();
      const frames = await framesFrom(writer, session, epoch, a, 4);
      const plain = frames.map((f) => f.data.byteLength - 30);
      expect(await deliver(incoming, frames)).toBe(4);
      expect(incoming.out.slice(-4).map((f) => f.data.byteLength)).toEqual(plain);
      for (let i = 0; i < 3; i += 1) await outgoing.write(ours.plain());
      sent += 3;
      await settle();
      expect(outgoing.out).toHaveLength(sent);
      const last = outgoing.out.at(-1) as FakeFrame;
      expect(new Uint8Array(last.data).at(-1)).toBe(epoch % 16);
      expect(await openFrame(last, session.senderKey(epoch, self) as Uint8Array)).toBeDefined();
    }
    if (!BASELINE) expect(refusedFor(a)).toBeUndefined();
  });

  it("audio frames pass too, and empty DTX frames are not refused", async () => {
    const { others, session } = await call();
    const [a] = others as [string];
    const incoming = await receiver(a);
    const writer = new FrameWriter(undefined, true);
    const frames = await framesFrom(writer, session, 1, a, 3);
    const empty = writer.plain(0);
    expect(await deliver(incoming, [...frames, empty])).toBe(4);
  });

  it("work on the RTCRtpScriptTransform path (Firefox, Safari) as well", async () => {
    const { others, session } = await call();
    const [a] = others as [string];
    const incoming = await receiver(a, true);
    const writer = new FrameWriter();
    expect(await deliver(incoming, await framesFrom(writer, session, 1, a, 3))).toBe(3);
    expect(await deliver(incoming, [writer.plain()])).toBe(0);
  });
});

describe("attacks that must fail", () => {
  it("a frame under a retired epoch is dropped, whoever encrypted it", async () => {
    const { others, session } = await call({ epochs: [1, 2], sending: 2 });
    const [a] = others as [string];
    const incoming = await receiver(a);
    const writer = new FrameWriter();
    // A leaver (or any former holder of K_1) forges a's frames under the epoch the core dropped.
    const forged = await framesFrom(writer, session, 1, a, 3);
    session.drop(1);
    await settle();
    expect(await deliver(incoming, forged)).toBe(0);
    // They wait for a key (frameHold.ts); a later commit (a new epoch) checks them again: refused.
    session.hold(3);
    await settle();
    expect(incoming.out).toHaveLength(0);
    // a's genuine frames under the current epoch still pass.
    expect(await deliver(incoming, await framesFrom(writer, session, 2, a, 3))).toBe(3);
    if (!BASELINE) {
      await settle(300);
      expect(refusedFor(a)?.keyNotAllowed).toBe(3);
    }
  });

  it("a leaver's key ring is emptied: frames in its name under any old key are dropped", async () => {
    const { others, session } = await call({ others: 2, epochs: [1, 2], sending: 2 });
    const [a, leaver] = others as [string, string];
    const incoming = await receiver(leaver);
    const writer = new FrameWriter();
    const frames1 = await framesFrom(writer, session, 1, leaver, 2);
    const frames2 = await framesFrom(writer, session, 2, leaver, 2);
    session.set({ senders: [a] });
    await settle();
    expect(await deliver(incoming, [...frames1, ...frames2])).toBe(0);
  });

  it("a slot re-used 16 epochs later never decrypts the old epoch's frames, even after a reconnect", async () => {
    const { others, session } = await call({ epochs: [3], sending: 3 });
    const [a] = others as [string];
    const incoming = await receiver(a);
    const writer = new FrameWriter();
    const old = await framesFrom(writer, session, 3, a, 2);
    // Epoch 19 takes slot 3; the core dropped 3 long ago.
    session.drop(3);
    session.hold(19);
    session.set({ sendingEpoch: 19 });
    await settle();
    page()?.reconnect();
    await settle();
    expect(await deliver(incoming, old.map(copyFrame))).toBe(0);
    expect(await deliver(incoming, await framesFrom(writer, session, 19, a, 2))).toBe(2);
  });

  it("a reconnect re-posts exactly the plan's keys: nothing retired comes back", async () => {
    const { others, session } = await call({ epochs: [1, 2, 3], sending: 3 });
    const [a] = others as [string];
    const incoming = await receiver(a);
    const writer = new FrameWriter();
    const retired = await framesFrom(writer, session, 1, a, 2);
    session.drop(1);
    await settle();
    page()?.reconnect();
    await settle();
    expect(await deliver(incoming, retired)).toBe(0);
    if (!BASELINE) {
      const keys = page()?.provider as MediaKeys;
      const rings = ringsOf(keys.plan());
      const reposted = keys.getKeys().map((info) => `${info.participantIdentity}/${info.keyIndex}`);
      const planned = [...rings].flatMap(([id, ring]) => [...ring.keys()].map((s) => `${id}/${s}`));
      expect(reposted.sort()).toEqual(planned.sort());
      expect(reposted).not.toContain(`${a}/1`);
    }
  });

  it("a replayed frame is dropped (the SFU records and injects again)", async () => {
    const { others, session } = await call();
    const [a] = others as [string];
    const incoming = await receiver(a);
    const writer = new FrameWriter();
    const frames = await framesFrom(writer, session, 1, a, 3);
    const recorded = frames.map(copyFrame);
    expect(await deliver(incoming, frames)).toBe(3);
    expect(await deliver(incoming, recorded)).toBe(0);
    expect(await deliver(incoming, [copyFrame(recorded[0] as FakeFrame)])).toBe(0);
    expect(await deliver(incoming, await framesFrom(writer, session, 1, a, 2))).toBe(2);
  });

  it("a sender we were never told about gets nothing through, not even plaintext", async () => {
    const { session } = await call();
    const stranger = randomId();
    // The SFU adds a participant and a track; nobody ever sends `enable` for it.
    const incoming = await receiver(stranger, false, false);
    const writer = new FrameWriter();
    expect(await deliver(incoming, [writer.plain(), writer.plain()])).toBe(0);
    const keyed = await framesFrom(writer, session, 1, stranger, 2);
    expect(await deliver(incoming, keyed)).toBe(0);
  });

  it("plaintext never passes, even when the SFU reports the sender as unencrypted", async () => {
    const { others, page } = await call();
    const [a] = others as [string];
    const incoming = await receiver(a);
    page.enable(a, false);
    await settle();
    const writer = new FrameWriter();
    const plain = writer.plain();
    // A plaintext frame dressed up with a trailer naming an allowed slot.
    const dressed = new Uint8Array(plain.data);
    dressed[dressed.length - 2] = 12;
    dressed[dressed.length - 1] = 1;
    expect(await deliver(incoming, [writer.plain(), plain])).toBe(0);
  });

  it("a track the page unsubscribed does not turn into a plaintext pass-through", async () => {
    const { others } = await call();
    const [a] = others as [string];
    const incoming = await receiver(a);
    // livekit unsets the cryptor's participant: its isEnabled() is then undefined.
    toWorker({
      kind: "removeTransform",
      data: { trackId: incoming.trackId, participantIdentity: a },
    });
    await settle();
    const writer = new FrameWriter();
    expect(await deliver(incoming, [writer.plain(), writer.plain()])).toBe(0);
  });

  it("after send nothing no frame leaves, and sending resumes only under the new key", async () => {
    const { self, session } = await call({ epochs: [1, 2], sending: 1 });
    const outgoing = new Pipe("encode", self);
    await settle();
    const ours = new FrameWriter();
    await outgoing.write(ours.plain());
    await settle();
    expect(outgoing.out).toHaveLength(1);
    // The core says: no key you may send with (a leave whose fresh key is withheld).
    session.set({ sendingEpoch: 0 });
    await settle(1);
    for (let i = 0; i < 5; i += 1) await outgoing.write(ours.plain());
    await settle();
    expect(outgoing.out).toHaveLength(1);
    // A key the leaver never had arrives and the core switches to it.
    session.hold(3);
    session.set({ sendingEpoch: 3 });
    await settle();
    for (let i = 0; i < 3; i += 1) await outgoing.write(ours.plain());
    await settle();
    expect(outgoing.out).toHaveLength(4);
    for (const frame of outgoing.out.slice(1)) {
      expect(new Uint8Array(frame.data).at(-1)).toBe(3);
      expect(await openFrame(frame, session.senderKey(3, self) as Uint8Array)).toBeDefined();
    }
  });

  it("after a retirement of our sending epoch nothing leaves under it", async () => {
    const { self, session } = await call({ epochs: [1, 2], sending: 1 });
    const outgoing = new Pipe("encode", self);
    await settle();
    session.drop(1);
    await settle(1);
    const ours = new FrameWriter();
    for (let i = 0; i < 3; i += 1) await outgoing.write(ours.plain());
    await settle();
    for (const frame of outgoing.out) expect(new Uint8Array(frame.data).at(-1)).not.toBe(1);
  });
});

describe("the guard's own messages", () => {
  it("reports refusals by sender and reason, and never hands our messages to livekit", async () => {
    if (BASELINE) return;
    const { session } = await call();
    const stranger = randomId();
    const incoming = await receiver(stranger);
    // Audio is refused at once (video first waits for a key: "frames that arrive before their key").
    const writer = new FrameWriter(undefined, true);
    await deliver(incoming, await framesFrom(writer, session, 1, stranger, 2));
    await settle(300);
    expect(refusedFor(stranger)).toEqual({
      participantId: stranger,
      keyNotAllowed: 2,
      replay: 0,
      notDecrypted: 0,
      serverInjected: 0,
    });
    // Our barrier echoes stay in the worker; the page only sees livekit's own messages and ours.
    for (const message of toPage) {
      const m = message as { kind: string; data?: Record<string, unknown> };
      if (m.kind === "enable") expect(m.data?.hushBarrier).toBeUndefined();
    }
  });

  it("a malformed plan message allows nothing until the page's next plan (parsed, never cast; fail closed)", async () => {
    if (BASELINE) return;
    const { others, session, self, page } = await call();
    const [a] = others as [string];
    const incoming = await receiver(a);
    const writer = new FrameWriter();
    expect(await deliver(incoming, await framesFrom(writer, session, 1, a, 2))).toBe(2);
    toWorker({ kind: "hush:plan", data: { id: 10_000, plan: { local: self, senders: "all" } } });
    toWorker({ kind: "hush:barrier", data: { id: 10_000 } });
    await settle();
    expect(await deliver(incoming, await framesFrom(writer, session, 1, a, 2))).toBe(0);
    expect(guardPlanOf((page.provider as MediaKeys).plan()).senders).toHaveLength(1);
    // The page's next plan (a key installed) puts back what the core holds.
    session.hold(2);
    await settle();
    expect(await deliver(incoming, await framesFrom(writer, session, 1, a, 2))).toBe(2);
  });
});

describe("frames that arrive before their key", () => {
  if (BASELINE) return;

  async function sequence(writer: FrameWriter, key: Uint8Array, slot: number, kinds: string) {
    const frames: FakeFrame[] = [];
    for (const kind of kinds) frames.push(await writer.encrypted(key, slot, 200, kind === "K"));
    return frames;
  }

  /**
   * A call in epoch 1 where `a` already sends under epoch 2, which we do not hold yet: `early`
   * (K keyframe, D delta) has arrived and nothing came out. `install()` gives us epoch 2.
   */
  async function ahead(kinds: string, audio = false) {
    const { others, session } = await call();
    const [a] = others as [string];
    const incoming = await receiver(a);
    const writer = new FrameWriter(undefined, audio);
    const groupKey = crypto.getRandomValues(new Uint8Array(32));
    const senderKey = senderKeyOf(groupKey, a);
    const early = await sequence(writer, senderKey, 2, kinds);
    expect(await deliver(incoming, early)).toBe(0);
    const install = async (ms?: number) => {
      session.hold(2, groupKey);
      await settle(ms);
    };
    const more = (k: string) => sequence(writer, senderKey, 2, k);
    return { a, session, incoming, writer, early, install, more };
  }

  const timestamps = (frames: FakeFrame[]) => frames.map((f) => f.timestamp);

  it("a keyframe and what follows it wait, and are decrypted in order once the key is installed", async () => {
    const { a, incoming, early, install, more } = await ahead("KDD");
    await install();
    await settleUntil(() => incoming.out.length >= early.length);
    expect(timestamps(incoming.out)).toEqual(timestamps(early));
    expect(incoming.out.map((f) => f.data.byteLength)).toEqual([200, 200, 200]);
    // Later frames under the key go straight through, and nothing was counted as refused.
    expect(await deliver(incoming, await more("D"))).toBe(1);
    await settle(300);
    expect(refusedFor(a)).toBeUndefined();
  });

  it("a newer keyframe supersedes what waits before it", async () => {
    const { a, incoming, early, install } = await ahead("KDDKD");
    await install(300);
    expect(timestamps(incoming.out)).toEqual(timestamps(early.slice(3)));
    expect(refusedFor(a)?.keyNotAllowed).toBe(3);
  });

  it("waiting frames get every check when they go on: a replay among them is dropped, a key never allowed lets nothing through", async () => {
    const { a, incoming, early, writer, install, more } = await ahead("KD");
    // The SFU replays a frame while it waits, and injects one under a key nobody gave us.
    const forged = await writer.encrypted(crypto.getRandomValues(new Uint8Array(32)), 3);
    expect(await deliver(incoming, [copyFrame(early[1] as FakeFrame), forged])).toBe(0);
    await install();
    await settleUntil(() => incoming.out.length >= early.length);
    expect(timestamps(incoming.out)).toEqual(timestamps(early));
    // The forged frame still waits; the next frame that passes gives it up.
    expect(await deliver(incoming, await more("D"))).toBe(1);
    await settle(300);
    expect(refusedFor(a)).toMatchObject({ replay: 1, keyNotAllowed: 1, notDecrypted: 0 });
  });

  it("what waits is bounded: a flood under an unknown key keeps only the newest frames", async () => {
    const { a, incoming, early, install } = await ahead("D".repeat(HOLD_FRAMES + 10));
    await install(300);
    expect(incoming.out).toHaveLength(HOLD_FRAMES);
    expect(incoming.out[0]?.timestamp).toBe(early[10]?.timestamp);
    expect(refusedFor(a)?.keyNotAllowed).toBe(10);
  });

  it("audio never waits: late audio would only be discarded", async () => {
    const { a, incoming, install } = await ahead("DD", true);
    await install(300);
    expect(incoming.out).toHaveLength(0);
    expect(refusedFor(a)?.keyNotAllowed).toBe(2);
  });
});
