// The frame guard on both sides of livekit's frame transform, in livekit's own stream stage
// (docs/media-keys.md, 5. The E2EE worker).
//
// livekit sets up each track as `readable.pipeThrough(new TransformStream({ transform }))
// .pipeTo(writable)`. Filters of our own before and after that stage (two more TransformStreams and
// pipes) cost every frame two more hops between streams, about a fifth of the worker's CPU time.
// Instead the readable we hand livekit can be read in one way only, its `pipeThrough`, which swaps
// livekit's stage for one that calls the guard, then livekit's transform, then the guard again on
// whatever livekit hands on. To find livekit's transform, the worker records the transformer of
// every TransformStream made after it starts (`recordTransformers`). Anything else fails closed:
// a stage whose transformer was not recorded or is not a plain `transform`, or any other way of
// reading the stream (a reader, pipeTo, tee, iteration), throws, and that track gets no frames.
import type { GuardedFrame } from "./frameGuard";

type FrameTransformer = Transformer<GuardedFrame, GuardedFrame>;

const transformers = new WeakMap<object, FrameTransformer>();

/** Makes every TransformStream made from now on in `scope` remember its transformer. */
export function recordTransformers(scope: { TransformStream: typeof TransformStream }) {
  const Native = scope.TransformStream;
  class Recording<I, O> extends Native<I, O> {
    constructor(
      transformer?: Transformer<I, O>,
      writableStrategy?: QueuingStrategy<I>,
      readableStrategy?: QueuingStrategy<O>,
    ) {
      super(transformer, writableStrategy, readableStrategy);
      if (transformer) transformers.set(this, transformer as unknown as FrameTransformer);
    }
  }
  scope.TransformStream = Recording;
}

/** One track's guard, on either side of livekit's transform. */
export interface GuardSides {
  /** Before livekit: hand the frame on with `deliver` now, later (a frame held for its key) or never. */
  before(frame: GuardedFrame, deliver: (frame: GuardedFrame) => void): void;
  /** After livekit: does the frame go on? */
  after(frame: GuardedFrame): boolean;
  /** The track's frames have ended. */
  closed(): void;
}

function refuse(): never {
  throw new TypeError("this track's frames are read only through the frame guard");
}

/**
 * `source`, to hand livekit: its `pipeThrough` runs livekit's transformer inside the guard, and
 * every other way of reading it throws.
 */
export function guardedSource(
  source: ReadableStream<GuardedFrame>,
  sides: GuardSides,
): ReadableStream<GuardedFrame> {
  const pipeThrough = source.pipeThrough;
  const only = (
    pair: ReadableWritablePair<GuardedFrame, GuardedFrame>,
    options?: StreamPipeOptions,
  ) => {
    const livekit = transformers.get(pair);
    // Only a plain `{ transform }`: a start, flush or cancel (own or inherited) would never run.
    const plain =
      livekit !== undefined &&
      Object.getPrototypeOf(livekit) === Object.prototype &&
      Reflect.ownKeys(livekit).length === 1;
    const transform = plain ? livekit.transform : undefined;
    if (typeof transform !== "function") refuse();
    return pipeThrough.call(source, guardedStage(transform.bind(livekit), sides), options);
  };
  for (const name of ["getReader", "pipeTo", "tee", "values", Symbol.asyncIterator]) {
    Object.defineProperty(source, name, { value: refuse });
  }
  Object.defineProperty(source, "pipeThrough", { value: only });
  return source;
}

function guardedStage(
  transform: NonNullable<FrameTransformer["transform"]>,
  sides: GuardSides,
): TransformStream<GuardedFrame, GuardedFrame> {
  let output: TransformStreamDefaultController<GuardedFrame> | undefined;
  // What livekit's transform hands on goes through the guard's after side first.
  const onward = {
    enqueue(frame: GuardedFrame) {
      if (!sides.after(frame)) return;
      try {
        output?.enqueue(frame);
      } catch {
        // The stream has ended: nothing is waiting for the frame any more.
      }
    },
    error: (reason?: unknown) => output?.error(reason),
    terminate: () => output?.terminate(),
    get desiredSize() {
      return output?.desiredSize ?? null;
    },
  } as TransformStreamDefaultController<GuardedFrame>;
  // livekit's transform is async: it gets one frame at a time, in order, held frames included,
  // as its own stage would have given them.
  let queue: Promise<void> = Promise.resolve();
  const deliver = (frame: GuardedFrame) => {
    queue = queue.then(() => transform(frame, onward));
    // A failure errors the stream through transform's answer; a held frame's has no one to tell.
    queue.catch(() => {});
  };
  return new TransformStream<GuardedFrame, GuardedFrame>({
    start(controller) {
      output = controller;
    },
    transform(frame) {
      sides.before(frame, deliver);
      return queue;
    },
    flush() {
      sides.closed();
      return queue;
    },
  });
}
