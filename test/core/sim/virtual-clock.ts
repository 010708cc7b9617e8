// A virtual clock for the simulator: timers run in time order (ties in scheduling order), time
// jumps from one timer to the next, so minutes of a call take milliseconds and every run replays
// exactly from its seed.
import type { Clock, TimerHandle } from "../../../web/src/core/clock.js";

interface Timer {
  readonly at: number;
  readonly order: number;
  readonly callback: () => void;
}

export class VirtualClock implements Clock {
  private time: number;
  private order = 0;
  private timers: Timer[] = [];
  private readonly cancelled = new Set<number>();
  /**
   * Where an exception thrown by a timer callback goes. Unset, it propagates (a test fails at
   * once); set, the clock carries on like a browser's event loop, which logs the exception and runs
   * the next task, so a test can see whether the code that threw still keeps its own timers.
   */
  onError: ((error: unknown) => void) | undefined;

  /** `start`: the time the run begins at (0 unless a test needs a wall-clock date). */
  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = { at: this.time + Math.max(0, ms), order: this.order++, callback };
    // Binary insertion keeps the queue sorted by (at, order).
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const other = this.timers[mid];
      if (other && (other.at < timer.at || (other.at === timer.at && other.order < timer.order))) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    this.timers.splice(lo, 0, timer);
    return timer.order;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === "number") this.cancelled.add(handle);
  }

  /** Runs the next timer; false when none is left. */
  step(): boolean {
    for (;;) {
      const timer = this.timers.shift();
      if (!timer) return false;
      if (this.cancelled.delete(timer.order)) continue;
      this.time = timer.at;
      if (this.onError) {
        try {
          timer.callback();
        } catch (error) {
          this.onError(error);
        }
      } else {
        timer.callback();
      }
      return true;
    }
  }

  /** Runs every timer due up to `until` (inclusive), then sets the time to `until`. */
  runUntil(until: number, maxSteps = 1_000_000): void {
    for (let steps = 0; steps < maxSteps; steps++) {
      const next = this.peekAt();
      if (next === undefined || next > until) {
        this.time = Math.max(this.time, until);
        return;
      }
      this.step();
    }
    throw new Error(`virtual clock: more than ${maxSteps} steps before ${until}`);
  }

  /** Time of the next live timer. */
  peekAt(): number | undefined {
    while (this.timers[0] && this.cancelled.has(this.timers[0].order)) {
      const dead = this.timers.shift();
      if (dead) this.cancelled.delete(dead.order);
    }
    return this.timers[0]?.at;
  }
}
