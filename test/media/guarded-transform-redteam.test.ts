// Red team of the guard inside livekit's own stream stage (web/src/media/guardedTransform.ts,
// commit dcafd7b). Part 1 drives the real worker (livekit-client's E2EE worker code wrapped by
// e2eeWorker.ts); part 2 drives guardedSource directly with a livekit stand-in that misuses its
// controller. The two "our own frames" attacks succeeded before the worker refused receive-side
// messages naming our published tracks' ids (e2eeWorker.ts, publishedTracks); the rest never did.
import { describe, expect, it } from "vitest";
import type { GuardedFrame } from "../../web/src/media/frameGuard";
import { type GuardSides, guardedSource } from "../../web/src/media/guardedTransform";
import { drain, frame, numberOf, RecordingTransformStream, sourceOf } from "./stage-frames";
import {
  copyFrame,
  type FakeFrame,
  FrameWriter,
  openFrame,
  Pipe,
  settle,
  framesFrom,
  workerCalls,
} from "./worker-harness";

const { call, page } = workerCalls();

/** How many of `frames` open under `key`. */
async function openUnder(frames: FakeFrame[], key: Uint8Array): Promise<number> {
  let n = 0;
  for (const f of frames) if ((await openFrame(f, key)) !== undefined) n += 1;
  return n;
}

describe("red team (worker): our own frames", () => {
  // livekit keeps one FrameCryptor per track id, for encode and decode alike, and re-points it at
  // whichever participant the newest decode/updateCodec for that id names. A remote track's id is
  // its MediaStream id, which the SFU writes (SDP msid) and which it can set to the id of the
  // track we publish (it sees our msid). Our encode pipeline keeps running on the re-pointed
  // cryptor, which now encrypts with A's key handler at A's current index; afterEncrypt checks
  // only the trailer's slot, and every sender's key of an epoch sits in the same slot.
  it("a remote track given our published track's id: our frames leave under A's sender key (epoch 16, slot 0)", async () => {
    const { self, others, session } = await call({ epochs: [16], sending: 16 });
    const [a] = others as [string];
    const outgoing = new Pipe("encode", self);
    await settle();
    const ours = new FrameWriter();
    for (let i = 0; i < 3; i += 1) await outgoing.write(ours.plain());
    await settle();
    expect(outgoing.out).toHaveLength(3);
    const ourKey = session.senderKey(16, self) as Uint8Array;
    const keyOfA = session.senderKey(16, a) as Uint8Array;
    expect(await openUnder(outgoing.out, ourKey)).toBe(3);
    // The SFU announces a track of A whose MediaStream id is our track's id.
    page()?.enable(a, true);
    new Pipe("decode", a, outgoing.trackId);
    await settle();
    for (let i = 0; i < 5; i += 1) await outgoing.write(ours.plain());
    await settle(60);
    // Whatever leaves must be ours, under our send key; nothing under another member's key.
    expect(await openUnder(outgoing.out, keyOfA)).toBe(0);
    expect(await openUnder(outgoing.out, ourKey)).toBe(outgoing.out.length);
  });

  it("same, any epoch: after a reconnect livekit makes A's key at our send slot current", async () => {
    const { self, others, session } = await call({ epochs: [1], sending: 1 });
    const [a] = others as [string];
    const outgoing = new Pipe("encode", self);
    await settle();
    // RoomEvent.SignalConnected (the SFU can force one): getKeys() re-posted, those at our send
    // slot marked current, A's included.
    page()?.reconnect();
    await settle();
    page()?.enable(a, true);
    new Pipe("decode", a, outgoing.trackId);
    await settle();
    const ours = new FrameWriter();
    for (let i = 0; i < 5; i += 1) await outgoing.write(ours.plain());
    await settle(60);
    const keyOfA = session.senderKey(1, a) as Uint8Array;
    expect(await openUnder(outgoing.out, keyOfA)).toBe(0);
    expect(await openUnder(outgoing.out, session.senderKey(1, self) as Uint8Array)).toBe(
      outgoing.out.length,
    );
  });
});

describe("red team (worker): frames through livekit's stage, attacks refused", () => {
  it("a frame and its copies written back to back (all in flight at once) pass once, both transform paths", async () => {
    for (const scriptTransform of [false, true]) {
      const { others, session } = await call();
      const [a] = others as [string];
      page()?.enable(a, true);
      const incoming = new Pipe("decode", a, undefined, scriptTransform);
      await settle();
      const writer = new FrameWriter();
      const frames = await framesFrom(writer, session, 1, a, 3);
      const burst = frames.flatMap((f) => [f, copyFrame(f), copyFrame(f)]);
      await Promise.all(burst.map((f) => incoming.write(f)));
      await settle(60);
      expect(incoming.out).toHaveLength(3);
      expect(incoming.out.map((f) => f.timestamp)).toEqual(frames.map((f) => f.timestamp));
      page()?.close();
    }
  });

  it("a second decode for the same track id and sender: replays on the new pipeline meet the old one's windows", async () => {
    const { others, session } = await call();
    const [a] = others as [string];
    page()?.enable(a, true);
    const first = new Pipe("decode", a);
    await settle();
    const writer = new FrameWriter();
    const frames = await framesFrom(writer, session, 1, a, 3);
    const recorded = frames.map(copyFrame);
    for (const f of frames) await first.write(f);
    await settle();
    expect(first.out).toHaveLength(3);
    const second = new Pipe("decode", a, first.trackId);
    await settle();
    for (const f of recorded) await second.write(f);
    await settle();
    expect(second.out).toHaveLength(0);
    for (const f of await framesFrom(writer, session, 1, a, 2)) await second.write(f);
    await settle();
    expect(second.out).toHaveLength(2);
  });

  it("with send nothing, frames already queued for livekit's encrypt do not leave", async () => {
    const { self, session } = await call({ epochs: [1], sending: 1 });
    const outgoing = new Pipe("encode", self);
    await settle();
    const ours = new FrameWriter();
    const writes = Array.from({ length: 20 }, () => outgoing.write(ours.plain()));
    session.set({ sendingEpoch: 0 });
    await Promise.all(writes);
    await settle();
    const sent = outgoing.out.length;
    for (let i = 0; i < 5; i += 1) await outgoing.write(ours.plain());
    await settle();
    expect(outgoing.out).toHaveLength(sent);
    expect(await openUnder(outgoing.out, session.senderKey(1, self) as Uint8Array)).toBe(sent);
  });
});

// Part 2: guardedSource with a livekit stand-in. The sides mimic the guard: `before` lets even
// frames through (each recorded as admitted), `after` accepts an admitted frame exactly once.

function strictSides() {
  const admitted = new Set<GuardedFrame>();
  const seenBefore: number[] = [];
  const sides: GuardSides = {
    before(f, deliver) {
      seenBefore.push(numberOf(f));
      if (numberOf(f) % 2 === 0) {
        admitted.add(f);
        deliver(f);
      }
    },
    after: (f) => admitted.delete(f),
    closed() {},
  };
  return { sides, seenBefore };
}

describe("red team (guardedSource): livekit's controller misused", () => {
  it("enqueue twice, a forged frame, desiredSize, a late enqueue after flush: each admitted frame leaves once", async () => {
    const { sides } = strictSides();
    const seen: number[] = [];
    let late: (() => void) | undefined;
    const stage = new RecordingTransformStream<GuardedFrame, GuardedFrame>({
      async transform(f, controller) {
        seen.push(numberOf(f));
        void controller.desiredSize;
        await new Promise((resolve) => setTimeout(resolve, 1));
        controller.enqueue(f);
        controller.enqueue(f);
        controller.enqueue(frame(100 + numberOf(f)));
        late = () => controller.enqueue(frame(200));
      },
    });
    const out = await drain(guardedSource(sourceOf(8), sides).pipeThrough(stage));
    late?.();
    await settle(5);
    expect(seen).toEqual([0, 2, 4, 6]);
    expect(out).toEqual([0, 2, 4, 6]);
  });

  it("terminate from livekit: frames still queued for livekit reach nothing", async () => {
    const { sides } = strictSides();
    const seen: number[] = [];
    const stage = new RecordingTransformStream<GuardedFrame, GuardedFrame>({
      async transform(f, controller) {
        seen.push(numberOf(f));
        controller.enqueue(f);
        if (numberOf(f) === 2) controller.terminate();
        controller.enqueue(f);
      },
    });
    const out = await drain(guardedSource(sourceOf(8), sides).pipeThrough(stage));
    await settle(5);
    expect(out).toEqual([0, 2]);
  });

  it("a second pipeThrough gets nothing past the guard, and a transformer with an inherited flush is refused", async () => {
    const { sides } = strictSides();
    const guarded = guardedSource(sourceOf(4), sides);
    const first = guarded.pipeThrough(
      new RecordingTransformStream<GuardedFrame, GuardedFrame>({
        transform: (f, c) => c.enqueue(f),
      }),
    );
    // Locked now: a second stage cannot read the source.
    expect(() =>
      guarded.pipeThrough(
        new RecordingTransformStream<GuardedFrame, GuardedFrame>({
          transform: (f, c) => c.enqueue(f),
        }),
      ),
    ).toThrow();
    expect(await drain(first)).toEqual([0, 2]);
    const other = guardedSource(sourceOf(4), strictSides().sides);
    // A flush inherited from a prototype would never run inside the guarded stage: such a
    // transformer is refused outright, like one with its own flush.
    class WithFlush {
      transform(f: GuardedFrame, c: TransformStreamDefaultController<GuardedFrame>) {
        c.enqueue(f);
      }
      flush(c: TransformStreamDefaultController<GuardedFrame>) {
        c.enqueue(frame(99));
      }
    }
    expect(() =>
      other.pipeThrough(new RecordingTransformStream<GuardedFrame, GuardedFrame>(new WithFlush())),
    ).toThrow(/only through the frame guard/);
  });

  it("held frames released from outside while livekit is busy: never two in livekit's transform at once, in order", async () => {
    let release: (() => void) | undefined;
    const held: GuardedFrame[] = [];
    const sides: GuardSides = {
      before(f, deliver) {
        if (numberOf(f) < 3) held.push(f);
        else deliver(f);
        release = () => {
          for (const h of held.splice(0)) deliver(h);
        };
      },
      after: () => true,
      closed() {},
    };
    let inside = 0;
    let most = 0;
    const seen: number[] = [];
    const stage = new RecordingTransformStream<GuardedFrame, GuardedFrame>({
      async transform(f, controller) {
        inside += 1;
        most = Math.max(most, inside);
        seen.push(numberOf(f));
        // A "commit" arrives while livekit decrypts frame 3.
        if (numberOf(f) === 3) release?.();
        await new Promise((resolve) => setTimeout(resolve, 3));
        inside -= 1;
        controller.enqueue(f);
      },
    });
    const out = await drain(guardedSource(sourceOf(6), sides).pipeThrough(stage));
    expect(most).toBe(1);
    expect(seen).toEqual([3, 0, 1, 2, 4, 5]);
    expect(out).toEqual([3, 0, 1, 2, 4, 5]);
  });
});
