// The vocabulary of the key schedule state machine (docs/key-schedule.md): its configuration, the
// events fed in (already authenticated by the session: verified roster, opened envelopes, verified
// broadcasts) and the actions it asks its shell to carry out. No I/O, no clock, no randomness here.
import type { BroadcastBody } from "./broadcast.js";
import type { KeyMessageBody } from "./key-messages.js";

export interface ScheduleConfig {
  /** Periodic ratchet interval (docs/key-schedule.md, Configuration: 30 s). */
  readonly ratchetIntervalMs: number;
  /**
   * Every n-th rotation is a fresh key instead of a ratchet (docs/key-schedule.md, Configuration:
   * 10).
   */
  readonly freshEvery: number;
  /**
   * Minimum spacing between the starts of rotations caused by joins and leaves (leading edge): the
   * first join or leave rotates at once if the last rotation started at least this long ago, else
   * at that start + coalesceMs; events until then share that one rotation.
   */
  readonly coalesceMs: number;
  /** The commit barrier waits at most this long for acknowledgements of a fresh key. */
  readonly ackTimeoutMs: number;
  /** How long a keyless member waits for its key before asking the leader. */
  readonly keyRequestDelayMs: number;
  /** Spacing of repeated key requests while still behind. */
  readonly keyRequestRetryMs: number;
  /** Key requests per episode of being behind; bounded so a dead leader is not flooded. */
  readonly maxKeyRequests: number;
  /** Epochs before a fresh key stay installed this long after the switch, for frames in flight. */
  readonly retireGraceMs: number;
  /**
   * The most ratchet steps a member derives on its own to catch up (bounded look-ahead). Also the
   * largest step by which any key, broadcast, ack or request may move a known epoch forward.
   */
  readonly maxRatchetLookahead: number;
  /**
   * A member that sees someone leave stops sending with any key the leaver could hold this long
   * after the leave unless a key the leaver never had has arrived (the leader's coalescing and ack
   * timeout, plus slack for delivery).
   */
  readonly lockoutGraceMs: number;
}

export const DEFAULT_SCHEDULE_CONFIG: ScheduleConfig = {
  ratchetIntervalMs: 30_000,
  freshEvery: 10,
  coalesceMs: 200,
  ackTimeoutMs: 1_500,
  keyRequestDelayMs: 1_000,
  keyRequestRetryMs: 2_000,
  maxKeyRequests: 10,
  maxRatchetLookahead: 16,
  retireGraceMs: 2_000,
  lockoutGraceMs: 2_500,
};

/** Epochs are u32 on the wire; 0 means "no key". */
export const MAX_EPOCH = 0xffff_ffff;
/**
 * The highest epoch a member without any key accepts as its first one. Later epochs move by
 * bounded steps, so half of the epoch space always remains: running out cannot be forced.
 */
export const FIRST_EPOCH_MAX = 0x7fff_ffff;

export interface RosterMember {
  readonly participantId: string;
  readonly seq: number;
}

export type ScheduleEvent =
  /**
   * The room admitted us. `members` have proven they are live; `pending` were announced but have
   * not proven it yet: they get no key but hold back leadership until they prove it or time out.
   */
  | {
      type: "joined";
      self: RosterMember;
      members: readonly RosterMember[];
      pending: readonly RosterMember[];
    }
  /** Announced (the MAC verified) but not yet proven live. */
  | { type: "member-pending"; member: RosterMember }
  /** Proven live: a verified member from now on. */
  | { type: "member-joined"; member: RosterMember }
  /** Announced, but it did not prove its liveness in time: no longer holds back leadership. */
  | { type: "member-expired"; participantId: string }
  /**
   * The room says this incarnation left or was disconnected. Its seq is departed whether or not we
   * knew it: a leader the server showed it to may have given it the chain we hold.
   */
  | { type: "member-left"; participantId: string; seq: number }
  /**
   * The socket delivered a leave that waits behind a signature check (inbound-order.ts): its
   * lock-out deadline runs from now. The member-left itself follows in order.
   */
  | { type: "departure-heard"; participantId: string; seq: number }
  /** A key message from an opened envelope whose header epoch matched. */
  | { type: "key-message"; from: string; message: KeyMessageBody }
  /** A broadcast whose signature verified under the sender's announced Ed25519 key. */
  | { type: "broadcast"; from: string; body: BroadcastBody }
  /** Timers: the shell calls this at nextWakeAt(). */
  | { type: "tick" }
  /** The media layer saw decrypt failures for a while: ask the leader once for the current key. */
  | { type: "decrypt-failures" }
  /** The socket is gone: we are no longer a member, so every key is dropped. */
  | { type: "reset" };

export type RotationReason =
  | "start"
  | "join"
  | "leave"
  | "takeover"
  | "periodic"
  | "periodic-fresh"
  | "stale";

export type ScheduleAction =
  /** Seal `message` in an envelope to `to`. */
  | { type: "send"; to: string; message: KeyMessageBody }
  /** Sign `body` and broadcast it. */
  | { type: "broadcast"; body: BroadcastBody }
  /** The group key of `epoch` is available for decryption (replacing any earlier one there). */
  | { type: "install"; epoch: number; groupKey: Uint8Array }
  /** The key of `epoch` is no longer held. */
  | { type: "retire"; epoch: number }
  /** Send media with the key of `epoch` from now on; epoch 0: send nothing (no usable key). */
  | { type: "switch"; epoch: number }
  /** Leader only, for metrics: a rotation began. */
  | { type: "rotation"; epoch: number; fresh: boolean; reason: RotationReason; recipients: number }
  /** Leader only, for metrics: the commit barrier passed (all acks, or the timeout). */
  | { type: "commit"; epoch: number; acked: number; timedOut: boolean };
