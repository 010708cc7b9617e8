// Every process the bench starts (wrangler/workerd, livekit-server, Chromium) is registered here and
// stopped in reverse order: after a normal run, after a failure, and on Ctrl-C or SIGTERM, so a
// benchmark never leaves servers holding ports or CPU behind.

type Stop = () => Promise<void> | void;

const stack: { what: string; stop: Stop }[] = [];
let signalsHooked = false;

/** Registers a stop function; returns a function that runs it now and unregisters it. */
export function onTeardown(what: string, stop: Stop): () => Promise<void> {
  hookSignals();
  const entry = { what, stop };
  stack.push(entry);
  return async () => {
    const index = stack.indexOf(entry);
    if (index < 0) return;
    stack.splice(index, 1);
    await runBounded(entry);
  };
}

/** Stops everything still registered, newest first. Never throws. */
export async function teardownAll(): Promise<void> {
  while (stack.length > 0) {
    const entry = stack.pop();
    if (entry) await runBounded(entry);
  }
}

async function runBounded(entry: { what: string; stop: Stop }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(entry.stop),
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timed out after 15 s")), 15_000);
      }),
    ]);
  } catch (error) {
    console.error(`bench: stopping ${entry.what} failed: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Stop everything on Ctrl-C / SIGTERM; call first thing, before any process is started. */
export function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}, stopping every server and browser it started…`);
      void teardownAll().finally(() => process.exit(130));
    });
  }
}
