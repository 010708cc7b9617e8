// Video frames that arrived before their key (docs/media-keys.md, Frames that wait for their key).
// A new membership gets its keys a moment after the SFU starts forwarding to it: a joiner, and every
// member after a Worker restart (they all rejoin as new members and get fresh keys). The sender's
// first frames, its keyframe among them, then name a key the guard does not allow yet. Dropped, they
// leave the receiver's decoder waiting for another keyframe, and with VP8 that comes only when the
// receiving browser asks for one, after seconds without a decodable frame. So those frames wait
// here, in arrival order and within bounds, and are offered to the guard again, every rule applying
// as to a new frame, whenever a plan is committed. Audio never waits: late audio is only discarded.

/** A frame waits at most this long (ms) for its key. */
export const HOLD_MS = 3_000;
/** Frames one decode pipeline keeps waiting (about five seconds of 30 fps video). */
export const HOLD_FRAMES = 150;
/** Bytes one decode pipeline keeps waiting. */
export const HOLD_BYTES = 4 * 1024 * 1024;
/** Bytes and frames all pipelines of a worker keep waiting together (the SFU decides how many
 * pipelines there are). */
export const HOLD_BYTES_TOTAL = 16 * 1024 * 1024;
export const HOLD_FRAMES_TOTAL = 1_000;

/** What all pipelines of one worker hold together. */
export interface HoldBudget {
  bytes: number;
  frames: number;
}

export interface Waiting<F> {
  frame: F;
  /** When it first arrived (ms): a frame offered again keeps its age. */
  at: number;
  keyframe: boolean;
}

/** The frames of one decode pipeline waiting for their key, oldest first. */
export class FrameHold<F extends { data: ArrayBuffer }> {
  private waiting: Waiting<F>[] = [];
  private bytes = 0;

  constructor(private readonly budget: HoldBudget) {}

  get size(): number {
    return this.waiting.length;
  }

  /**
   * Keeps `entry` waiting; returns the frames that no longer wait (too old, superseded by a newer
   * keyframe, or out of room), `entry` itself when it does not fit at all, to be refused.
   */
  add(entry: Waiting<F>, now: number): F[] {
    const gone: F[] = [];
    // A keyframe makes everything before it useless to the decoder.
    while (
      this.waiting.length > 0 &&
      (entry.keyframe || (this.waiting[0] as Waiting<F>).at < now - HOLD_MS)
    ) {
      gone.push(this.shift());
    }
    const size = entry.frame.data.byteLength;
    if (now - entry.at > HOLD_MS || size > HOLD_BYTES) return [...gone, entry.frame];
    const overBudget = () =>
      this.budget.bytes + size > HOLD_BYTES_TOTAL || this.budget.frames >= HOLD_FRAMES_TOTAL;
    while (
      this.waiting.length > 0 &&
      (this.waiting.length >= HOLD_FRAMES || this.bytes + size > HOLD_BYTES || overBudget())
    ) {
      gone.push(this.shift());
    }
    if (overBudget()) return [...gone, entry.frame];
    this.waiting.push(entry);
    this.bytes += size;
    this.budget.bytes += size;
    this.budget.frames += 1;
    return gone;
  }

  /** Every waiting frame, oldest first, to be offered again; the hold is empty afterwards. */
  take(): Waiting<F>[] {
    const taken = this.waiting;
    this.waiting = [];
    this.budget.bytes -= this.bytes;
    this.budget.frames -= taken.length;
    this.bytes = 0;
    return taken;
  }

  private shift(): F {
    const first = this.waiting.shift() as Waiting<F>;
    const size = first.frame.data.byteLength;
    this.bytes -= size;
    this.budget.bytes -= size;
    this.budget.frames -= 1;
    return first.frame;
  }
}
