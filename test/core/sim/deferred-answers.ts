// The simulator's stand-in for a platform that answers later (its Ed25519 checks, its X25519s):
// each answer runs on the virtual clock after a random delay, in any order, and stall() holds every
// answer back until release(). deferred-signatures.ts and deferred-shared-secrets.ts compute their
// answers at once and hand them here.
import type { VirtualClock } from "./virtual-clock.js";

export class DeferredAnswers {
  /** Answers asked for and not given yet. */
  pending = 0;
  /** Answers held back while stalled (a platform that takes its time), in the order asked. */
  private stalled: (() => void)[] | undefined;

  constructor(
    private readonly clock: VirtualClock,
    private readonly delayMs: () => number,
  ) {}

  /** Runs `answer` later (after release() as well, while stalled). */
  later(answer: () => void): void {
    this.pending += 1;
    const schedule = () =>
      this.clock.setTimeout(() => {
        this.pending -= 1;
        answer();
      }, this.delayMs());
    if (this.stalled) this.stalled.push(schedule);
    else schedule();
  }

  /** Holds every answer back until release(). */
  stall(): void {
    this.stalled ??= [];
  }

  release(): void {
    const held = this.stalled ?? [];
    this.stalled = undefined;
    for (const schedule of held) schedule();
  }
}
