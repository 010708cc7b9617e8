// Numbered stand-in frames for the tests of the guard inside livekit's stage
// (web/src/media/guardedTransform.ts): a source of them, a drain that reads their numbers back, and
// a TransformStream that records its transformer the way the E2EE worker's does.
import type { GuardedFrame } from "../../web/src/media/frameGuard";
import { recordTransformers } from "../../web/src/media/guardedTransform";

/** TransformStream as the platform has it: its transformer is not recorded. */
export const NativeTransformStream = globalThis.TransformStream;
const scope = { TransformStream: NativeTransformStream };
recordTransformers(scope);
/** TransformStream as the worker makes it after recordTransformers: livekit's stage is one. */
export const RecordingTransformStream = scope.TransformStream;

export function frame(n: number): GuardedFrame {
  return { data: new Uint8Array([n]).buffer };
}

export const numberOf = (f: GuardedFrame) => new Uint8Array(f.data)[0] ?? -1;

/** Frames 0 to count-1, each made when the stream is read. */
export function sourceOf(count: number): ReadableStream<GuardedFrame> {
  let n = 0;
  return new ReadableStream({
    pull(controller) {
      if (n < count) controller.enqueue(frame(n++));
      else controller.close();
    },
  });
}

/** The numbers of the frames `readable` gives until it ends (or errors). */
export async function drain(readable: ReadableStream<GuardedFrame>): Promise<number[]> {
  const out: number[] = [];
  await readable
    .pipeTo(new WritableStream({ write: (f) => void out.push(numberOf(f)) }))
    .catch(() => {});
  return out;
}
