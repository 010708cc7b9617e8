// Keeps the room's frames in the order the socket delivered them while one of them waits for an
// asynchronous check (a leader broadcast's signature, signature-verifier.ts): the frames behind it
// wait too, so the session sees exactly the order it would with a synchronous check. With nothing
// waiting a frame is handled at once, in the socket's own event.
//
// Past a bound the connection is given up, never a frame: a dropped member-left would leave the
// leaver on our roster and on our keys, and members who flood the room with broadcasts (each one a
// check) could aim that at the key leader. A new connection starts from the room's welcome, so
// the worst a flood does is make us rejoin.

/** Frames held behind a pending check at most; one more and the connection is given up. */
export const INBOUND_QUEUE_LIMIT = 4_096;

export class InboundOrder {
  private readonly queue: (() => void)[] = [];
  /** The next queued frame's index while drain() runs (a shift per frame would be quadratic). */
  private head = 0;
  private waiting = false;
  /** drain() is running: an answer given inside one of its steps lets the loop go on. */
  private draining = false;
  /** Bumped when the socket is gone: a check that settles later belongs to a dead connection. */
  private generation = 0;
  /** The bound was passed: nothing more of this connection counts, until reset(). */
  private overflowed = false;

  /** `overflow` is called once per connection that passes the bound, to give that connection up. */
  constructor(private readonly overflow: () => void) {}

  /** Handles a frame now, or after the frames ahead of it. */
  run(step: () => void): void {
    if (this.overflowed) return;
    if (!this.waiting) {
      step();
      return;
    }
    if (this.queue.length - this.head >= INBOUND_QUEUE_LIMIT) {
      // What waits and what follows belong to a connection we give up: none of it is handled.
      this.overflowed = true;
      this.waiting = false;
      this.clearQueue();
      this.generation += 1;
      this.overflow();
      return;
    }
    this.queue.push(step);
  }

  /**
   * Starts a check and holds every later frame until it answers: `check` gets the function to
   * call with the continuation (once, now or later); the frames that waited run after it, in order.
   */
  hold(check: (answer: (then: () => void) => void) => void): void {
    this.waiting = true;
    const generation = this.generation;
    let answered = false;
    const answer = (then: () => void) => {
      if (answered) return;
      answered = true;
      this.settle(generation, then);
    };
    try {
      check(answer);
    } catch {
      // A check that fails to start answers nothing: the frames behind it go on.
      answer(() => {});
    }
  }

  /** Whether a check is pending, so frames now wait. */
  get holding(): boolean {
    return this.waiting;
  }

  /** The socket is gone: the check in progress and the frames behind it count for nothing. */
  reset(): void {
    this.generation += 1;
    this.waiting = false;
    this.overflowed = false;
    this.clearQueue();
  }

  private clearQueue(): void {
    this.queue.length = 0;
    this.head = 0;
  }

  private settle(generation: number, then: () => void): void {
    if (generation !== this.generation) return;
    this.waiting = false;
    try {
      then();
    } catch {
      // As in drain: the handler keeps its own counters, the frames behind it still count.
    }
    // Answered inside a queued step (a check answered at once): the running loop goes on. Draining
    // from here would recurse once per such frame, and a few thousand would overflow the stack.
    if (!this.draining) this.drain();
  }

  private drain(): void {
    this.draining = true;
    try {
      // A step may hold again: the rest then wait for that check.
      while (!this.waiting && this.head < this.queue.length) {
        const step = this.queue[this.head];
        this.head += 1;
        try {
          step?.();
        } catch {
          // A handler's failure is the handler's; the frames behind it still count.
        }
      }
      // What ran is let go of: the queue holds only frames still to come.
      this.queue.splice(0, this.head);
      this.head = 0;
    } finally {
      this.draining = false;
    }
  }
}
