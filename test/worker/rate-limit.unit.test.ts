// Unit tests of the per-socket token bucket.
import { describe, expect, it } from "vitest";
import type { RateLimit } from "../../worker/src/room-config";
import { type Bucket, fullBucket, takeToken } from "../../worker/src/rate-limit";

const rate: RateLimit = {
  perSecond: 10,
  burst: 5,
  strikes: 3,
  bytesPerSecond: 1_000,
  bytesBurst: 4_000,
};

function drain(bucket: Bucket, frames: number, now: number) {
  const verdicts: string[] = [];
  let current = bucket;
  for (let i = 0; i < frames; i++) {
    const taken = takeToken(current, rate, now);
    current = taken.bucket;
    verdicts.push(taken.verdict);
  }
  return { bucket: current, verdicts };
}

describe("takeToken", () => {
  it("allows a burst, then limits, then calls persistent excess abusive", () => {
    const { verdicts } = drain(fullBucket(rate, 0), 8, 0);
    expect(verdicts).toEqual([
      "allowed",
      "allowed",
      "allowed",
      "allowed",
      "allowed",
      "limited",
      "limited",
      "abusive",
    ]);
  });

  it("refills at the configured rate, never above the burst", () => {
    const { bucket } = drain(fullBucket(rate, 0), 5, 0);
    expect(takeToken(bucket, rate, 50).verdict).toBe("limited");
    expect(takeToken(bucket, rate, 100).verdict).toBe("allowed");
    const later = drain(bucket, 7, 60_000);
    expect(later.verdicts.filter((v) => v === "allowed")).toHaveLength(5);
  });

  it("forgives strikes slowly, so brief overshoots recover", () => {
    const limited = drain(fullBucket(rate, 0), 7, 0).bucket;
    expect(limited.strikes).toBe(2);
    // Ten seconds later: tokens are back and the strikes are forgiven.
    const next = takeToken(limited, rate, 10_000);
    expect(next.verdict).toBe("allowed");
    expect(next.bucket.strikes).toBe(0);
  });

  it("treats a clock that runs backwards as no time passing", () => {
    const { bucket } = drain(fullBucket(rate, 1_000), 5, 1_000);
    const taken = takeToken(bucket, rate, 0);
    expect(taken.verdict).toBe("limited");
    expect(taken.bucket.at).toBe(1_000);
  });
});
