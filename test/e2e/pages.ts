// Page-side helpers for the end-to-end suite: join a call through the real UI, read the app's
// read-only test view (window.__hush), and check that a rendered video is not black.
import type { BrowserContext, Page } from "playwright-core";
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

export async function openPage(context: BrowserContext, name: string): Promise<Participant> {
  const page = await context.newPage();
  const lines: string[] = [];
  page.on("console", (message) => {
    lines.push(`[${name}] ${message.type()}: ${message.text()}`);
    if (lines.length > 400) lines.shift();
  });
  page.on("pageerror", (error) => lines.push(`[${name}] pageerror: ${error.message}`));
  return { name, context, page, console: lines };
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

/**
 * Luminance statistics of what the video element of `participantId`'s tile shows right now, read
 * by drawing the element into a canvas: a black or frozen-blank tile has variance near zero.
 */
export function tilePixels(
  participant: Participant,
  participantId: string,
): Promise<{ width: number; mean: number; variance: number }> {
  return participant.page.evaluate((id) => {
    const video = document.querySelector<HTMLVideoElement>(
      `[data-tile="${id}"]:not([data-screen]) video`,
    );
    if (!video || video.videoWidth === 0) return { width: 0, mean: 0, variance: 0 };
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext("2d");
    if (!context) return { width: 0, mean: 0, variance: 0 };
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
    return { width: video.videoWidth, mean, variance: sumSquares / pixels - mean * mean };
  }, participantId);
}
