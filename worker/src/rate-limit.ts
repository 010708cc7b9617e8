// Per-socket flood control as a pure token bucket over two currencies: frames, and bytes (the frame
// itself plus everything the room relays because of it, so a broadcast costs its size times its
// fan-out). Its state lives in the socket's attachment, so it survives hibernation and eviction: a
// client cannot reset its allowance by waiting for the object to be evicted.
import type { RateLimit } from "./room-config";

export interface Bucket {
  /** Frames the socket may still send right now. */
  tokens: number;
  /** Bytes the socket may still spend right now (absent in attachments of older deployments: full). */
  bytes?: number | undefined;
  /** Refusals not yet forgiven; they drain at one per second. */
  strikes: number;
  /** When the bucket was last brought up to date (ms since the epoch). */
  at: number;
}

type Verdict = "allowed" | "limited" | "abusive";

/** Strikes are forgiven slowly so that a client sending persistently above the rate is closed. */
const STRIKES_FORGIVEN_PER_SECOND = 1;

export function fullBucket(rate: RateLimit, now: number): Bucket {
  return { tokens: rate.burst, bytes: rate.bytesBurst, strikes: 0, at: now };
}

function strike(bucket: Bucket, rate: RateLimit): { bucket: Bucket; verdict: Verdict } {
  const charged = { ...bucket, strikes: bucket.strikes + 1 };
  return { bucket: charged, verdict: charged.strikes >= rate.strikes ? "abusive" : "limited" };
}

/** Brings the bucket up to `now` and charges one frame. A clock that went backwards counts as no time. */
export function takeToken(
  bucket: Bucket,
  rate: RateLimit,
  now: number,
): { bucket: Bucket; verdict: Verdict } {
  const seconds = Math.max(0, now - bucket.at) / 1000;
  const tokens = Math.min(rate.burst, bucket.tokens + seconds * rate.perSecond);
  const bytes = Math.min(
    rate.bytesBurst,
    (bucket.bytes ?? rate.bytesBurst) + seconds * rate.bytesPerSecond,
  );
  const strikes = Math.max(0, bucket.strikes - seconds * STRIKES_FORGIVEN_PER_SECOND);
  const at = Math.max(now, bucket.at);
  if (tokens >= 1)
    return { bucket: { tokens: tokens - 1, bytes, strikes, at }, verdict: "allowed" };
  return strike({ tokens, bytes, strikes, at }, rate);
}

/**
 * Charges `amount` bytes to a bucket already brought up to date by takeToken for this frame. Any
 * frame is allowed while the balance is positive, and may take it below zero: a single frame of the
 * protocol's largest kind (64 KiB to a full room) always gets through, and its debt is paid off at
 * the refill rate before the next. A refusal spends nothing (the frame is dropped) but counts a strike.
 */
export function takeBytes(
  bucket: Bucket,
  rate: RateLimit,
  amount: number,
): { bucket: Bucket; verdict: Verdict } {
  const bytes = bucket.bytes ?? rate.bytesBurst;
  if (bytes > 0 || amount === 0)
    return { bucket: { ...bucket, bytes: bytes - amount }, verdict: "allowed" };
  return strike({ ...bucket, bytes }, rate);
}

/** Adds what an allowed frame makes the room relay; the balance may go negative (a debt). */
export function oweBytes(bucket: Bucket, amount: number): Bucket {
  if (amount === 0) return bucket;
  return { ...bucket, bytes: (bucket.bytes ?? 0) - amount };
}
