// The two kinds of incarnation a session deals with: a peer's, as the room announced it, and our
// own on the current connection. The verified roster, the liveness hellos and the key transport
// all work on these records; each file says which fields it reads and which it changes.
import type { Announcement } from "./announcement.js";
import type { CallKeyPairs } from "./call-keys.js";
import type { TimerHandle } from "./clock.js";
import type { EnvelopeChannel } from "./envelope.js";

/** One incarnation of a peer as the room announced it: verified once it proves it is live. */
export interface Peer {
  readonly seq: number;
  readonly announcementBytes: Uint8Array;
  readonly announcement: Announcement;
  readonly channel: EnvelopeChannel;
  proven: boolean;
  /** It did not prove itself in time: shown as unverified, no longer holding back leadership. */
  expired: boolean;
  /** Its announced X25519 key is a low-order point: it can never prove itself. */
  unusable: boolean;
  /**
   * Proven and admitted: a member of the key schedule (in an open call, every proven peer). In an
   * ask-to-join call a proven peer the membership state does not admit waits outside it.
   */
  keyed: boolean;
  /** Admitted once and then removed by the membership state: this incarnation never comes back. */
  removed: boolean;
  /** Hellos we sent asking for an answer (we drive the exchange when it joined after us). */
  asked: number;
  /** When we last answered its request: at most one answer per HELLO_ANSWER_SPACING_MS. */
  answeredAt: number;
  retryTimer: TimerHandle | undefined;
  deadlineTimer: TimerHandle | undefined;
}

/**
 * This client on its current connection: every join request renews both (a new membership shares
 * nothing with the old one), so the parts of the session read them here rather than keep copies.
 */
export interface OwnIncarnation {
  keyPairs: CallKeyPairs;
  /** Our announcement exactly as sent (hellos bind it). */
  announcement: Uint8Array;
}
