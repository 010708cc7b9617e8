// Waiting for a condition that events make true (a message arrives, a socket closes), with a bound:
// the test clients call wake() on every event and await until() for what they expect next. A wait
// that runs out names what it was waiting for.

export class Waiting {
  private waiters: (() => void)[] = [];

  /** Something happened: every pending until() checks its condition again. */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  async until(what: string, ready: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
