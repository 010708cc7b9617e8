// The SFU re-labels a track while livekit's message queue is behind (web/src/media/decodePipelines.ts).
// livekit re-points its per-track cryptor only when its async queue reaches the updateCodec/decode
// message; when our pipelines followed at once, a frame was judged against sender B's allowed keys
// and replay windows but decrypted with sender A's keys, and the SFU alone (no key) got A's frames
// accepted again as B's, or a leaver's frames under its retired key. Each attack below succeeded
// against that code (found by an attack review) and fails now: the re-point waits for livekit's
// echo, and frames let through before it are refused after decryption.
import { afterEach, describe, expect, it } from "vitest";
import { senderKeyOf } from "../../web/src/core";
import {
  copyFrame,
  type FakeFrame,
  FrameWriter,
  Pipe,
  settle,
  deliver,
  framesFrom,
  workerCalls,
} from "./worker-harness";

const calls = workerCalls();

type Handler = (event: { data: unknown }) => void;
const g = globalThis as unknown as { onmessage: Handler };

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

/** Runs `then` right after the worker handled the first page message of `kind`. */
function rightAfter(kind: string, then: (inner: Handler) => void) {
  const inner = g.onmessage;
  let done = false;
  g.onmessage = (event) => {
    inner(event);
    if (!done && (event.data as { kind?: string })?.kind === kind) {
      done = true;
      then(inner);
    }
  };
  restore = () => {
    g.onmessage = inner;
  };
}

/** livekit's E2EEManager on a reused receiver: the track id now belongs to `participant`. */
const updateCodec = (trackId: string, participantIdentity: string) => ({
  data: {
    kind: "updateCodec",
    data: { trackId, participantIdentity, codec: "vp8", hasPacketTrailer: false },
  },
});

async function twoSenders() {
  const opened = await calls.call({ others: 2 });
  const { page } = opened;
  const [a, b] = opened.others as [string, string];
  page.enable(a, true);
  page.enable(b, true);
  const trackOfA = new Pipe("decode", a);
  // A second subscription the SFU labels as A's for now (same frames forwarded twice).
  const relabelled = new Pipe("decode", a);
  await settle();
  return { ...opened, a, b, trackOfA, relabelled };
}

describe("re-pointing a track while livekit's message queue is behind", () => {
  it("held frames released at the commit: a copy of A's frame is accepted as B's", async () => {
    const { a, b, session, trackOfA, relabelled } = await twoSenders();
    const writer = new FrameWriter();
    const groupKey = crypto.getRandomValues(new Uint8Array(32));
    // A already sends under epoch 2, which we do not hold yet: the frame waits on both tracks.
    const frame = await writer.encrypted(senderKeyOf(groupKey, a), 2, 200, true);
    expect(await deliver(trackOfA, [frame])).toBe(0);
    expect(await deliver(relabelled, [copyFrame(frame)])).toBe(0);
    // The page posts updateCodec just after the barrier; our onmessage sees it while livekit is
    // still deriving the epoch-2 keys.
    rightAfter("hush:barrier", (inner) => inner(updateCodec(relabelled.trackId, b)));
    session.hold(2, groupKey);
    await settle(200);
    expect(trackOfA.out).toHaveLength(1);
    // The copy waited on the relabelled track: given up at the re-point, never judged as B's.
    expect(relabelled.out).toHaveLength(0);
    expect(await deliver(relabelled, [copyFrame(frame)])).toBe(0);
    // B's own frames on the relabelled track pass once livekit has re-pointed.
    expect(await deliver(relabelled, await framesFrom(writer, session, 2, b, 2))).toBe(2);
  });

  it("live frames during a rotation: a recorded frame of A is replayed as B's", async () => {
    const { a, b, session, trackOfA, relabelled } = await twoSenders();
    const writer = new FrameWriter();
    const frames = await framesFrom(writer, session, 1, a, 3);
    const recorded = frames.map(copyFrame);
    expect(await deliver(trackOfA, frames)).toBe(3);
    // A replay on A's own track is refused, as it should be.
    expect(await deliver(trackOfA, [copyFrame(recorded[0] as FakeFrame)])).toBe(0);
    // Any key change queues setKey work in livekit; the SFU re-labels the track meanwhile and
    // replays A's recorded frames on it.
    rightAfter("hush:plan", (inner) => {
      inner(updateCodec(relabelled.trackId, b));
      for (const f of recorded) void relabelled.write(f);
    });
    session.hold(2);
    await settle(200);
    // A's already-accepted frames are not accepted again, during the re-point or after it.
    expect(relabelled.out).toHaveLength(0);
    expect(await deliver(relabelled, [copyFrame(recorded[0] as FakeFrame)])).toBe(0);
    expect(await deliver(relabelled, await framesFrom(writer, session, 2, b, 2))).toBe(2);
  });

  it("a leaver's frames under its retired key are accepted as B's while livekit catches up", async () => {
    const { a, b, session, relabelled } = await twoSenders();
    const writer = new FrameWriter();
    // A leaves: the plan retires A's keys at once in the guard; livekit overwrites them later.
    const afterLeave = await framesFrom(writer, session, 1, a, 3);
    rightAfter("hush:plan", (inner) => {
      inner(updateCodec(relabelled.trackId, b));
      for (const f of afterLeave) void relabelled.write(f);
    });
    session.set({ senders: [b] });
    await settle(200);
    expect(relabelled.out).toHaveLength(0);
    expect(await deliver(relabelled, await framesFrom(writer, session, 1, a, 1))).toBe(0);
    expect(await deliver(relabelled, await framesFrom(writer, session, 1, b, 2))).toBe(2);
  });
});
