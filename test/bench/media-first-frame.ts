// Join → first frame with E2EE on against off, on the CPU comparison's page (media-page/: livekit-
// client alone, a shared passphrase set before joining, so no key exchange is in it): in each round a
// publisher is in a fresh room and a second page joins, measured from its connect to the first frame
// of the publisher's video it shows. Rounds alternate off and on in the same browser, so both sides
// see the same machine load; the ratio of the medians is E2EE's cost on the media path alone.
import type { BrowserContext, Page } from "playwright-core";
import type { RunningBrowser } from "../support/browser";
import type { RunningLiveKit } from "../support/livekit";
import { sleep } from "./fleet";
import { benchPageUrl } from "./media-cpu";
import { randomId } from "./raw-client";

const FRAME_TIMEOUT_MS = 30_000;

interface PageState {
  connected: boolean;
  error: string;
  connectingAt: number;
  firstFrameAt: number;
}

function stateOf(page: Page): Promise<PageState> {
  return page.evaluate(
    () => (window as unknown as { __bench: { state: PageState } }).__bench.state,
  );
}

async function until(page: Page, done: (state: PageState) => boolean): Promise<PageState> {
  const deadline = performance.now() + FRAME_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const state = await stateOf(page).catch(() => undefined);
    if (state?.error) throw new Error(`the bench page failed: ${state.error}`);
    if (state && done(state)) return state;
    await sleep(20);
  }
  throw new Error(`the bench page did not get there within ${FRAME_TIMEOUT_MS} ms`);
}

/** One round: the joiner's connect → first frame, in ms. */
async function firstFrameRound(opts: {
  browser: RunningBrowser;
  livekit: RunningLiveKit;
  pageOrigin: string;
  e2ee: boolean;
}): Promise<number> {
  const room = randomId();
  const contexts: BrowserContext[] = [];
  try {
    const open = async (identity: string) => {
      const context = await opts.browser.newParticipant(opts.pageOrigin);
      contexts.push(context);
      const page = await context.newPage();
      const mode = opts.e2ee ? "e2ee" : "off";
      await page.goto(await benchPageUrl({ ...opts, room, identity, mode }), {
        waitUntil: "domcontentloaded",
        timeout: 90_000,
      });
      return page;
    };
    const publisher = await open("publisher");
    await until(publisher, (state) => state.connected);
    // Let the publisher's encoder settle before anyone subscribes.
    await sleep(1_000);
    const joiner = await open("joiner");
    const state = await until(joiner, (s) => s.firstFrameAt > 0);
    return state.firstFrameAt - state.connectingAt;
  } finally {
    for (const context of contexts) await context.close().catch(() => {});
  }
}

export interface FirstFrameComparison {
  onMs: number[];
  offMs: number[];
}

/** `rounds` of each, alternating off and on. */
export async function compareFirstFrame(opts: {
  browser: RunningBrowser;
  livekit: RunningLiveKit;
  pageOrigin: string;
  rounds: number;
}): Promise<FirstFrameComparison> {
  const onMs: number[] = [];
  const offMs: number[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    offMs.push(await firstFrameRound({ ...opts, e2ee: false }));
    onMs.push(await firstFrameRound({ ...opts, e2ee: true }));
  }
  return { onMs, offMs };
}
