// Page-side helpers for the end-to-end suite: join a call through the real UI, read the app's
// read-only test view (window.__hush), and check that a rendered video is not black.
import { type BrowserContext, errors, type Page, type Worker } from "playwright-core";
import { loadRetryingStall } from "../support/stalled-load";
import type { HushTestView } from "../../web/src/app/testHooks";

/** Query string for test calls: low-resolution video, a 3-second ratchet, test hooks on. */
export const TEST_QUERY = "?video=low&rotate=3&test=1";

export interface Participant {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Console lines the page logged, for failure messages. */
  console: string[];
}

/**
 * Content-Security-Policy violations seen by any page openPage opened since the last
 * takeCspViolations(). The suite runs under the policy the Worker ships (worker/src/security-headers.ts)
 * and csp-guard.ts fails every test during which a page reported one: a violation is either a
 * feature the policy breaks or a load the policy exists to stop.
 */
const cspViolations: string[] = [];

/** Returns and forgets the violations collected so far. */
export function takeCspViolations(): string[] {
  return cspViolations.splice(0);
}

/** Live workers of the pages openPage opened. */
const workers: { name: string; worker: Worker }[] = [];

/** Other sources of violations (pages of browsers playwright does not drive), polled with the workers. */
const collectors = new Set<() => Promise<string[]>>();

/** Registers a source of violations for collectPendingViolations(); returns its removal. */
export function addCspCollector(collect: () => Promise<string[]>): () => void {
  collectors.add(collect);
  return () => collectors.delete(collect);
}

/** Moves what the live workers' listeners and the collectors heard into the collected violations. */
export async function collectPendingViolations(): Promise<void> {
  for (const collect of [...collectors]) cspViolations.push(...(await collect().catch(() => [])));
  for (const { name, worker } of [...workers]) {
    const heard = await worker
      .evaluate(() => (self as unknown as { __hushCsp?: string[] }).__hushCsp?.splice(0) ?? [])
      .catch(() => [] as string[]);
    for (const text of heard) cspViolations.push(`[${name}] worker ${worker.url()}: ${text}`);
  }
}

/** Chromium's and Firefox's console wording for a blocked load, also from workers. */
export const CSP_CONSOLE_PATTERN = /Content[- ]Security[- ]Policy/i;

export async function openPage(context: BrowserContext, name: string): Promise<Participant> {
  const page = await context.newPage();
  retryStalledLoads(page);
  const lines: string[] = [];
  page.on("console", (message) => {
    lines.push(`[${name}] ${message.type()}: ${message.text()}`);
    if (lines.length > 400) lines.shift();
    if (CSP_CONSOLE_PATTERN.test(message.text()))
      cspViolations.push(`[${name}] console: ${message.text()}`);
  });
  page.on("pageerror", (error) => lines.push(`[${name}] pageerror: ${error.message}`));
  // A worker runs under its own copy of the policy (the E2EE worker's script is served with it) and
  // its violations fire in the worker, out of reach of the page's listener and not logged where
  // playwright sees them. Each worker gets a listener as soon as playwright sees it and keeps what
  // it hears; collectPendingViolations() reads them. A violation in a worker's first moments, before
  // the listener is in, is missed.
  page.on("worker", (worker) => {
    workers.push({ name, worker });
    worker.on("close", () =>
      workers.splice(
        workers.findIndex((w) => w.worker === worker),
        1,
      ),
    );
    worker
      .evaluate(() => {
        const scope = self as unknown as { __hushCsp: string[] };
        scope.__hushCsp = [];
        self.addEventListener("securitypolicyviolation", (event) => {
          scope.__hushCsp.push(
            `${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`,
          );
        });
      })
      .catch(() => {});
  });
  // The page reports each violation event to Node as it happens (a binding survives navigations
  // and outlives the page's own memory, which a reload would wipe).
  await page.exposeFunction("__hushCspViolation", (text: string) => {
    cspViolations.push(`[${name}] ${text}`);
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      const report = (window as unknown as { __hushCspViolation(text: string): void })
        .__hushCspViolation;
      report(
        `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber} (${event.disposition})`,
      );
    });
  });
  return { name, context, page, console: lines };
}

/**
 * Every page.goto of `page` that does not name its own timeout tries a stalled load once more
 * (test/support/stalled-load.ts). Done on the page itself so that each test's own page.goto calls
 * get it.
 */
function retryStalledLoads(page: Page): void {
  const goto = page.goto.bind(page);
  page.goto = (url, options) =>
    options?.timeout !== undefined
      ? goto(url, options)
      : loadRetryingStall(url, {
          load: (timeout) => goto(url, { ...options, timeout }),
          reload: (timeout) => page.reload({ waitUntil: options?.waitUntil, timeout }),
          currentUrl: () => page.url(),
          isTimeout: (error) => error instanceof errors.TimeoutError,
        });
}

export function view(participant: Participant): Promise<HushTestView> {
  return participant.page.evaluate(() => (window as unknown as { __hush: HushTestView }).__hush);
}

/** Polls `probe` every 250 ms until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(
  what: string | (() => Promise<string>),
  probe: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) {
      const text = typeof what === "string" ? what : await what();
      throw new Error(`timed out after ${timeoutMs} ms: ${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Progress lines with a timestamp, so a slow step shows in the test output. */
export function step(text: string): void {
  console.log(`${new Date().toISOString()} ${text}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Fills the name on the pre-join screen and joins. */
export async function joinFromPreJoin(participant: Participant) {
  const page = participant.page;
  await page.getByLabel(/Your name/).fill(participant.name);
  await page.getByRole("button", { name: "Join call" }).click();
  await page.locator(".call").waitFor({ timeout: 30_000 });
}

/**
 * Share of pixels in the `selector`'s videos that look like Chromium's fake camera (a green field
 * with a bright green clock and disc): near 1 for the real picture. Videos with no decoded frame
 * (videoWidth 0) are reported as -1.
 */
export function fakeCameraLikeness(page: Page, selector: string): Promise<number[]> {
  return page.evaluate((selector) => {
    return Array.from(document.querySelectorAll<HTMLVideoElement>(selector)).map((video) => {
      if (video.videoWidth === 0) return -1;
      const canvas = document.createElement("canvas");
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      const context = canvas.getContext("2d");
      if (!context) return -1;
      context.drawImage(video, 0, 0);
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      let green = 0;
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b] = [data[i] ?? 0, data[i + 1] ?? 0, data[i + 2] ?? 0];
        if (g > 90 && r < 100 && b < 100 && g > r + 40 && g > b + 40) green += 1;
      }
      return green / (data.length / 4);
    });
  }, selector);
}

/** What a video element shows right now: its size, luminance (mean and spread) and frames decoded. */
export interface VideoPicture {
  width: number;
  height: number;
  mean: number;
  variance: number;
  frames: number;
}

/** Anything that runs a function in a page: a Playwright page or the suite's Firefox page. */
interface Evaluates {
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}

/**
 * The picture of the first video matching `selector`, read by drawing it into a canvas (all zero
 * while none plays): a black or frozen-blank video has a variance near zero.
 */
export function videoPicture(page: Evaluates, selector: string): Promise<VideoPicture> {
  return page.evaluate((selector) => {
    const video = document.querySelector<HTMLVideoElement>(selector);
    const none = { width: 0, height: 0, mean: 0, variance: 0, frames: 0 };
    if (!video || video.videoWidth === 0) return none;
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext("2d");
    if (!context) return none;
    context.drawImage(video, 0, 0);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    let sum = 0;
    let sumSquares = 0;
    const pixels = data.length / 4;
    for (let i = 0; i < data.length; i += 4) {
      const luma = 0.299 * (data[i] ?? 0) + 0.587 * (data[i + 1] ?? 0) + 0.114 * (data[i + 2] ?? 0);
      sum += luma;
      sumSquares += luma * luma;
    }
    const mean = sum / pixels;
    return {
      width: video.videoWidth,
      height: video.videoHeight,
      mean,
      variance: sumSquares / pixels - mean * mean,
      frames: video.getVideoPlaybackQuality().totalVideoFrames,
    };
  }, selector);
}

/** The picture of `participantId`'s camera tile as `participant` sees it. */
export function tilePixels(participant: Participant, participantId: string): Promise<VideoPicture> {
  return videoPicture(participant.page, `[data-tile="${participantId}"]:not([data-screen]) video`);
}

/**
 * After `goneId` left: every stayer sees it gone from a roster of the stayers alone, one of them
 * (the leader, whoever leads now) made a fresh key for a leave or a takeover, and every stayer sends
 * with that key or a later one. Returns the fresh key's epoch. `viewOf` reads a stayer's page, so
 * Chromium participants and the suite's Firefox pages both fit.
 */
export async function waitForFreshKeyWithout<P extends { name: string }>(
  stayers: readonly P[],
  goneId: string,
  viewOf: (stayer: P) => Promise<HushTestView>,
): Promise<number> {
  for (const stayer of stayers) {
    await waitFor(`${stayer.name} to see ${goneId} leave`, async () => {
      const v = await viewOf(stayer);
      return v.rosterIds.length === stayers.length && !v.rosterIds.includes(goneId);
    });
  }
  let freshEpoch = 0;
  await waitFor(
    async () =>
      `a fresh key for the leave: ${JSON.stringify((await Promise.all(stayers.map(viewOf))).map((v) => v.rotations))}`,
    async () => {
      const rotation = (await Promise.all(stayers.map(viewOf)))
        .flatMap((v) => v.rotations)
        .find((r) => r.fresh && (r.reason === "leave" || r.reason === "takeover"));
      freshEpoch = rotation?.epoch ?? 0;
      return freshEpoch > 0;
    },
    20_000,
  );
  for (const stayer of stayers) {
    await waitFor(
      `${stayer.name} to send with the fresh key`,
      async () => ((await viewOf(stayer)).sendingEpoch ?? 0) >= freshEpoch,
    );
  }
  return freshEpoch;
}
