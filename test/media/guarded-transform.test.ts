// The guard inside livekit's own stream stage (web/src/media/guardedTransform.ts): frames reach
// livekit's transform only through the guard's before side and leave only through its after side,
// in order, held frames included; every other way of reading the stream, and a stage whose
// transformer is unknown or not a plain transform, fails closed.
import { describe, expect, it } from "vitest";
import type { GuardedFrame } from "../../web/src/media/frameGuard";
import { type GuardSides, guardedSource } from "../../web/src/media/guardedTransform";
import {
  drain,
  NativeTransformStream,
  numberOf,
  RecordingTransformStream,
  sourceOf,
} from "./stage-frames";

/** livekit's shape: an async transform that hands each frame on after a varying delay. */
function livekitStage(seen: number[]) {
  return new RecordingTransformStream<GuardedFrame, GuardedFrame>({
    async transform(f, controller) {
      seen.push(numberOf(f));
      await new Promise((resolve) => setTimeout(resolve, (7 - (numberOf(f) % 7)) * 2));
      controller.enqueue(f);
    },
  });
}

const passAll: GuardSides = {
  before: (f, deliver) => deliver(f),
  after: () => true,
  closed() {},
};

describe("the guard inside livekit's stage", () => {
  it("runs before, livekit's transform and after in frame order; refused frames go nowhere", async () => {
    const seen: number[] = [];
    const afterSaw: number[] = [];
    let closed = false;
    const sides: GuardSides = {
      before: (f, deliver) => {
        if (numberOf(f) !== 3) deliver(f);
      },
      after: (f) => {
        afterSaw.push(numberOf(f));
        return numberOf(f) !== 5;
      },
      closed: () => {
        closed = true;
      },
    };
    const out = await drain(guardedSource(sourceOf(10), sides).pipeThrough(livekitStage(seen)));
    expect(seen).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    expect(afterSaw).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    expect(out).toEqual([0, 1, 2, 4, 6, 7, 8, 9]);
    expect(closed).toBe(true);
  });

  it("a frame held by the before side and delivered later reaches livekit after those before it", async () => {
    const seen: number[] = [];
    let release: (() => void) | undefined;
    const sides: GuardSides = {
      before: (f, deliver) => {
        if (numberOf(f) === 1) release = () => deliver(f);
        else {
          deliver(f);
          if (numberOf(f) === 4) release?.();
        }
      },
      after: () => true,
      closed() {},
    };
    const out = await drain(guardedSource(sourceOf(6), sides).pipeThrough(livekitStage(seen)));
    expect(seen).toEqual([0, 2, 3, 4, 1, 5]);
    expect(out).toEqual([0, 2, 3, 4, 1, 5]);
  });

  it("no other way of reading the stream gets a frame past the guard", () => {
    const guarded = guardedSource(sourceOf(3), passAll);
    expect(() => guarded.getReader()).toThrow(/only through the frame guard/);
    expect(() => guarded.pipeTo(new WritableStream())).toThrow(/only through the frame guard/);
    expect(() => guarded.tee()).toThrow(/only through the frame guard/);
    const iterable = guarded as unknown as AsyncIterable<GuardedFrame>;
    expect(() => iterable[Symbol.asyncIterator]()).toThrow(/only through the frame guard/);
  });

  it("a stage whose transformer was not recorded, or is more than a transform, is refused", () => {
    const unrecorded = new NativeTransformStream<GuardedFrame, GuardedFrame>({
      transform: (f, c) => c.enqueue(f),
    });
    expect(() => guardedSource(sourceOf(3), passAll).pipeThrough(unrecorded)).toThrow(
      /only through the frame guard/,
    );
    const withFlush = new RecordingTransformStream<GuardedFrame, GuardedFrame>({
      transform: (f, c) => c.enqueue(f),
      flush() {},
    });
    expect(() => guardedSource(sourceOf(3), passAll).pipeThrough(withFlush)).toThrow(
      /only through the frame guard/,
    );
  });
});
