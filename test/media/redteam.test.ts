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

describe("red team: replay window bypasses", () => {
  it("a sender that drops off the roster and comes back (a reconnect) gets a fresh replay window: the SFU replays its recorded frames under an epoch still held", async () => {
    const { others, session } = await call({ epochs: [1, 2], sending: 2 });
    const [a] = others as [string];
    const incoming = await receiver(a);
    const writer = new FrameWriter();
    const frames = await framesFrom(writer, session, 1, a, 3);
    const recorded = frames.map(copyFrame);
    expect(await deliver(incoming, frames)).toBe(3);
    // The signalling server drops a's socket: a leaves the verified roster, rejoins with the same
    // participant id and proves itself again within the core's retire grace (epoch 1 still held).
    session.set({ senders: [] });
    await settle();
    session.set({ senders: [a] });
    await settle();
    // The SFU now re-injects what it recorded from a before the reconnect.
    expect(await deliver(incoming, recorded)).toBe(0);
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
