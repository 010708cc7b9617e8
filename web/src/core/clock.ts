// Time is injected so the simulator can run hours of calls in milliseconds on a virtual clock. The
// default is the platform's own clock and timers (browsers and Node alike).
export type TimerHandle = unknown;

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => {
    if (handle !== undefined) globalThis.clearTimeout(handle as Parameters<typeof clearTimeout>[0]);
  },
};
