// Red-team attacks on issue 9's media fixes, against livekit-client's real E2EE worker code wrapped
// by web/src/media/e2eeWorker.ts (worker-harness.ts). A failing test means the attack succeeds.
import { describe, expect, it } from "vitest";
import {
  copyFrame,
  FrameWriter,
  Pipe,
  settle,
  deliver,
  framesFrom,
  workerCalls,
} from "./worker-harness";

const { call, page } = workerCalls();

async function receiver(sender: string, trackId?: string) {
  page()?.enable(sender, true);
  const pipe = new Pipe("decode", sender, trackId);
  await settle();
  return pipe;
}

/** One sender a, three of its epoch-1 frames received, and a copy of them as the SFU recorded them. */
async function recordedCall() {
  const { others, session } = await call({ epochs: [1, 2], sending: 2 });
  const [a] = others as [string];
  const incoming = await receiver(a);
  const writer = new FrameWriter();
  const frames = await framesFrom(writer, session, 1, a, 3);
  const recorded = frames.map(copyFrame);
  expect(await deliver(incoming, frames)).toBe(3);
  return { a, session, incoming, writer, recorded };
}

describe("red team: replay window bypasses", () => {
  it("a sender that drops off the roster and comes back (a reconnect) gets a fresh replay window: the SFU replays its recorded frames under an epoch still held", async () => {
    const { a, session, incoming, recorded } = await recordedCall();
    // The signalling server drops a's socket: a leaves the verified roster, rejoins with the same
    // participant id and proves itself again within the core's retire grace (epoch 1 still held).
    session.set({ senders: [] });
    await settle();
    session.set({ senders: [a] });
    await settle();
    // The SFU now re-injects what it recorded from a before the reconnect.
    expect(await deliver(incoming, recorded)).toBe(0);
  });

  it("a key the core let go of comes back with the same bytes (a core bug, or the same key delivered again): the guard must not give it fresh replay windows, or the SFU replays the frames it recorded under it", async () => {
    const { a, session, incoming, writer, recorded } = await recordedCall();
    const epochOneKey = session.groupKeys.get(1);
    if (!epochOneKey) throw new Error("epoch 1 not held");
    // The core retires epoch 1 (its key leaves every plan and livekit's ring)...
    session.drop(1);
    await settle();
    // ...and later holds epoch 1 again with the very same key: the media layer sees a new
    // generation of epoch 1, and livekit gets the key again. The core's own rule forbids this
    // (test/core/retention-redteam.test.ts); the worker must not depend on that rule alone.
    session.hold(1, epochOneKey);
    await settle();
    expect(await deliver(incoming, recorded)).toBe(0);
    // New frames under the restored key still pass: only the replays are refused.
    expect(await deliver(incoming, await framesFrom(writer, session, 1, a, 2))).toBe(2);
  });

  it("the SFU gives a second sender's track the same track id: livekit re-parents the one cryptor, the guard still checks the first sender's window, and the second sender's recorded frames are accepted again (as the first sender's media)", async () => {
    const { others, session } = await call({ others: 2, epochs: [1, 2], sending: 2 });
    const [x, y] = others as [string, string];
    const fromX = await receiver(x);
    // Same msid/track id for y's track (the SFU writes the subscriber's SDP).
    const fromY = await receiver(y, fromX.trackId);
    const writer = new FrameWriter();
    const frames = await framesFrom(writer, session, 1, y, 3);
    const recorded = frames.map(copyFrame);
    expect(await deliver(fromY, frames)).toBe(3);
    // Replayed on x's receiver: must be refused (a replay, and not x's frames at all).
    expect(await deliver(fromX, recorded)).toBe(0);
  });
});
