// When a remote video that receives packets but decodes nothing asks for a keyframe
// (web/src/media/stalledVideo.ts): after STALL_MS, then with a doubling back-off, and never for a
// video that decodes or that the SFU paused.
import { describe, expect, it } from "vitest";
import { MAX_RETRY_MS, RETRY_MS, STALL_MS, StallDetector } from "../../web/src/media/stalledVideo";

/** Samples every `step` ms from `from` to `to`: packets keep arriving, `decoded` as given. */
function run(
  detector: StallDetector,
  opts: { from: number; to: number; step?: number; decoded?: (at: number) => number },
) {
  const asked: number[] = [];
  const step = opts.step ?? 250;
  for (let at = opts.from; at <= opts.to; at += step) {
    const counters = { packetsReceived: at, framesDecoded: opts.decoded?.(at) ?? 0 };
    if (detector.observe("video", counters, at)) asked.push(at);
  }
  return asked;
}

describe("StallDetector", () => {
  it("asks once packets have arrived for STALL_MS with nothing decoded, then backs off", () => {
    const asked = run(new StallDetector(), { from: 0, to: 40_000 });
    expect(asked[0]).toBe(STALL_MS);
    const gaps = asked.slice(1).map((at, i) => at - (asked[i] as number));
    expect(gaps[0]).toBeGreaterThanOrEqual(RETRY_MS);
    expect(gaps[1]).toBeGreaterThanOrEqual(2 * RETRY_MS);
    for (const gap of gaps) expect(gap).toBeLessThanOrEqual(MAX_RETRY_MS + 250);
    expect(asked.length).toBeLessThan(8);
  });

  it("never asks for a video that decodes", () => {
    expect(run(new StallDetector(), { from: 0, to: 10_000, decoded: (at) => at / 250 })).toEqual(
      [],
    );
  });

  it("never asks for a video the SFU paused (no packets arrive)", () => {
    const detector = new StallDetector();
    for (let at = 0; at <= 10_000; at += 250) {
      expect(detector.observe("video", { packetsReceived: 5, framesDecoded: 1 }, at)).toBe(false);
    }
  });

  it("a video that decodes again starts over with the first, short wait", () => {
    const detector = new StallDetector();
    const first = run(detector, { from: 0, to: 5_000 });
    expect(first.length).toBe(2);
    // One decoded frame, then stalled again: asked again after STALL_MS, not after the back-off.
    run(detector, { from: 5_250, to: 5_250, decoded: () => 1 });
    const again = run(detector, { from: 5_500, to: 7_000, decoded: () => 1 });
    expect(again[0]).toBeLessThanOrEqual(5_250 + STALL_MS + 250);
  });

  it("forgets tracks that are gone", () => {
    const detector = new StallDetector();
    run(detector, { from: 0, to: 500 });
    detector.keepOnly(new Set());
    // Starting over: the first sample only sets the baseline.
    expect(detector.observe("video", { packetsReceived: 1_000, framesDecoded: 0 }, 1_000)).toBe(
      false,
    );
  });
});
