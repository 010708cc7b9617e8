// Per-socket flood control as a pure token bucket. Its state lives in the socket's attachment, so it
// survives hibernation and eviction: a client cannot reset its allowance by waiting for the object
// to be evicted.
import type { RateLimit } from "./config";

export interface Bucket {
  /** Frames the socket may still send right now. */
  tokens: number;
  /** Refusals not yet forgiven; they drain at one per second. */
  strikes: number;
  /** When `tokens` and `strikes` were last brought up to date (ms since the epoch). */
  at: number;
}

export type Verdict = "allowed" | "limited" | "abusive";

/** Strikes are forgiven slowly so that a client sending persistently above the rate is closed. */
const STRIKES_FORGIVEN_PER_SECOND = 1;

export function fullBucket(rate: RateLimit, now: number): Bucket {
  return { tokens: rate.burst, strikes: 0, at: now };
}

/** Charges one frame. A clock that went backwards counts as no time passing. */
export function takeToken(
  bucket: Bucket,
  rate: RateLimit,
  now: number,
): { bucket: Bucket; verdict: Verdict } {
  const seconds = Math.max(0, now - bucket.at) / 1000;
  const tokens = Math.min(rate.burst, bucket.tokens + seconds * rate.perSecond);
  const strikes = Math.max(0, bucket.strikes - seconds * STRIKES_FORGIVEN_PER_SECOND);
  const at = Math.max(now, bucket.at);
  if (tokens >= 1) return { bucket: { tokens: tokens - 1, strikes, at }, verdict: "allowed" };
  const charged = { tokens, strikes: strikes + 1, at };
  return { bucket: charged, verdict: charged.strikes >= rate.strikes ? "abusive" : "limited" };
}
