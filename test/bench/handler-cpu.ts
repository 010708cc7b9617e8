// The CPU time one bench client spends in its own code. All N clients share one Node process, so a
// client's socket handlers and timers run synchronously, one at a time: the process's CPU time
// (process.cpuUsage, user + system) while one of them runs is that client's, whatever else queued in
// front of it. What a real device would spend per event is the sum of its own calls, free of the
// other N-1 clients' work the latencies include. CPU time rather than wall time, because on a loaded
// machine the OS also runs other processes in the middle of a call; the process's GC and I/O helper
// threads, busy meanwhile, count too.
import WebSocket from "ws";
import type { Clock, SocketConstructor } from "../../web/src/core/index";

function processCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * Reading the process's CPU clock is a system call (about 2 µs, more on a loaded machine) made twice
 * per handler: with every client metered, a host of 66 members spent about a third of its handler
 * time reading clocks, a cost no real device pays, which slowed every event the bench measures. So
 * a client can be metered from a given moment on (`meter()`), and only the clients an event is
 * read from are.
 */
export class HandlerCpu {
  private totalMs = 0;
  private runningSince: number | undefined;
  private depth = 0;

  constructor(private metering = true) {}

  /** Meters from now on: CPU before this was not counted (read nowMs() after this, not before). */
  meter(): void {
    this.metering = true;
  }

  /** Runs one of this client's handlers, adding its duration (nested calls count once). */
  run<T>(handler: () => T): T {
    if (!this.metering && this.depth === 0) return handler();
    if (this.depth++ === 0) this.runningSince = processCpuMs();
    try {
      return handler();
    } finally {
      if (--this.depth === 0 && this.runningSince !== undefined) {
        this.totalMs += processCpuMs() - this.runningSince;
        this.runningSince = undefined;
      }
    }
  }

  /** CPU milliseconds so far, including the handler running now. */
  nowMs(): number {
    return (
      this.totalMs + (this.runningSince === undefined ? 0 : processCpuMs() - this.runningSince)
    );
  }

  /** CPU milliseconds before the handler running now began (all of them outside a handler). */
  beforeThisCallMs(): number {
    return this.totalMs;
  }
}

/**
 * The bench's WebSocket for one client: every listener the core registers runs inside `cpu`.
 *
 * The `ws` client compresses every frame in JavaScript-driven zlib streams when the server offers
 * permessage-deflate (workerd does); with N clients in one process that alone took a sixth of the
 * process's time at N = 100. Browsers compress natively off the page's thread, so the bench's
 * clients do without it: what is left is the protocol's own cost.
 */
export function meteredSocket(cpu: HandlerCpu): SocketConstructor {
  return class BenchSocket extends WebSocket {
    constructor(url: string) {
      super(url, { perMessageDeflate: false });
      const add = this.addEventListener.bind(this);
      // An own property in front of ws's method: the signalling client only ever adds listeners.
      this.addEventListener = ((type: string, listener: (event: unknown) => void) =>
        add(type as "message", (event: unknown) =>
          cpu.run(() => listener(event)),
        )) as typeof this.addEventListener;
    }
  };
}

/** The system clock with every timer callback (rotations, hellos, heartbeats) run inside `cpu`. */
export function meteredClock(cpu: HandlerCpu): Clock {
  return {
    now: () => Date.now(),
    setTimeout: (callback, ms) => setTimeout(() => cpu.run(callback), ms),
    clearTimeout: (handle) => {
      if (handle !== undefined) clearTimeout(handle as Parameters<typeof clearTimeout>[0]);
    },
  };
}
