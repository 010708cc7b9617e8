// The bounds on frames waiting for their key (web/src/media/frameHold.ts): age, count, bytes per
// pipeline and across all pipelines, and a keyframe superseding what came before it.
import { describe, expect, it } from "vitest";
import {
  FrameHold,
  HOLD_BYTES,
  HOLD_BYTES_TOTAL,
  HOLD_FRAMES,
  HOLD_FRAMES_TOTAL,
  HOLD_MS,
  type HoldBudget,
} from "../../web/src/media/frameHold";

let next = 0;
function frame(bytes = 100) {
  next += 1;
  return { data: new ArrayBuffer(bytes), n: next };
}

const entry = (f: ReturnType<typeof frame>, at: number, keyframe = false) => ({
  frame: f,
  at,
  keyframe,
});

describe("FrameHold", () => {
  it("gives frames back oldest first, once, and returns their bytes to the budget", () => {
    const budget: HoldBudget = { bytes: 0, frames: 0 };
    const hold = new FrameHold(budget);
    const frames = [frame(), frame(), frame()];
    for (const f of frames) expect(hold.add(entry(f, 0), 0)).toEqual([]);
    expect(budget.bytes).toBe(300);
    expect(hold.take().map((e) => e.frame)).toEqual(frames);
    expect(hold.take()).toEqual([]);
    expect(budget.bytes).toBe(0);
  });

  it("a keyframe supersedes everything before it", () => {
    const hold = new FrameHold({ bytes: 0, frames: 0 });
    const early = [frame(), frame()];
    for (const f of early) hold.add(entry(f, 0), 0);
    const key = frame();
    expect(hold.add(entry(key, 1, true), 1)).toEqual(early);
    expect(hold.take().map((e) => e.frame)).toEqual([key]);
  });

  it("frames older than HOLD_MS are given up, and a frame offered again keeps its age", () => {
    const hold = new FrameHold({ bytes: 0, frames: 0 });
    const old = frame();
    hold.add(entry(old, 0), 0);
    const late = frame();
    expect(hold.add(entry(late, HOLD_MS + 1), HOLD_MS + 1)).toEqual([old]);
    const [again] = hold.take() as [ReturnType<typeof hold.take>[number]];
    expect(again.at).toBe(HOLD_MS + 1);
    expect(hold.add(again, 2 * HOLD_MS + 2)).toEqual([late]);
    expect(hold.size).toBe(0);
  });

  it("keeps at most HOLD_FRAMES frames and HOLD_BYTES bytes, dropping the oldest", () => {
    const hold = new FrameHold({ bytes: 0, frames: 0 });
    const frames = Array.from({ length: HOLD_FRAMES + 2 }, () => frame());
    const gone = frames.flatMap((f) => hold.add(entry(f, 0), 0));
    expect(gone).toEqual(frames.slice(0, 2));
    expect(hold.size).toBe(HOLD_FRAMES);

    const big = new FrameHold({ bytes: 0, frames: 0 });
    const half = HOLD_BYTES / 2;
    const [a, b, c] = [frame(half), frame(half), frame(half)];
    big.add(entry(a, 0), 0);
    big.add(entry(b, 0), 0);
    expect(big.add(entry(c, 0), 0)).toEqual([a]);
    const huge = frame(HOLD_BYTES + 1);
    expect(big.add(entry(huge, 0), 0)).toEqual([huge]);
    expect(big.size).toBe(2);
  });

  it("all pipelines together keep at most HOLD_BYTES_TOTAL", () => {
    const budget: HoldBudget = { bytes: 0, frames: 0 };
    const holds = Array.from({ length: HOLD_BYTES_TOTAL / HOLD_BYTES + 1 }, () => {
      return new FrameHold(budget);
    });
    const size = HOLD_BYTES / 4;
    for (const hold of holds.slice(0, -1)) {
      for (let i = 0; i < 4; i += 1) expect(hold.add(entry(frame(size), 0), 0)).toEqual([]);
    }
    expect(budget.bytes).toBe(HOLD_BYTES_TOTAL);
    // A further pipeline gets no room; the others' frames are not its to drop.
    const last = holds.at(-1) as FrameHold<ReturnType<typeof frame>>;
    const refused = frame(size);
    expect(last.add(entry(refused, 0), 0)).toEqual([refused]);
    expect(budget.bytes).toBe(HOLD_BYTES_TOTAL);
    holds[0]?.take();
    expect(last.add(entry(frame(size), 0), 0)).toEqual([]);
  });

  it("all pipelines together keep at most HOLD_FRAMES_TOTAL frames", () => {
    const budget: HoldBudget = { bytes: 0, frames: 0 };
    const perHold = HOLD_FRAMES;
    const holds = Array.from({ length: Math.ceil(HOLD_FRAMES_TOTAL / perHold) + 1 }, () => {
      return new FrameHold(budget);
    });
    let refused = 0;
    for (const hold of holds) {
      for (let i = 0; i < perHold; i += 1) refused += hold.add(entry(frame(1), 0), 0).length;
    }
    expect(budget.frames).toBe(HOLD_FRAMES_TOTAL);
    expect(refused).toBe(holds.length * perHold - HOLD_FRAMES_TOTAL);
  });
});
