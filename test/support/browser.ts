// Debian's Chromium driven by playwright-core, for the end-to-end suite. One browser per suite and
// one context per participant (each context is a separate profile: own storage, own devices), with
// fake camera and microphone so calls carry real encoded media without hardware.
import { type Browser, type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--autoplay-policy=no-user-gesture-required",
  // Background pages must keep decoding: several participants share one headless browser.
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
  // WebRTC over loopback only: no mDNS host candidates, no interface enumeration beyond loopback.
  "--disable-features=WebRtcHideLocalIpsWithMdns",
];

export interface RunningBrowser {
  browser: Browser;
  /** A fresh context (own profile) with camera and microphone allowed for `origin`. */
  newParticipant(origin: string): Promise<BrowserContext>;
  close(): Promise<void>;
}

/**
 * `extraArgs` come after the defaults, and Chromium keeps the last value of a repeated switch: e.g.
 * `--use-fake-ui-for-media-stream=deny` (every camera request denied) or
 * `--use-fake-device-for-media-stream=device-count=3` (more fake cameras).
 */
export async function launchBrowser(extraArgs: string[] = []): Promise<RunningBrowser> {
  // launch() gives the browser a fresh temporary profile (removed on close); contexts inside it
  // are isolated from each other.
  const browser = await chromium.launch({
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    timeout: 60_000,
  });
  return {
    browser,
    async newParticipant(origin) {
      const context = await browser.newContext({ viewport: { width: 1200, height: 720 } });
      await context.grantPermissions(
        ["camera", "microphone", "clipboard-read", "clipboard-write"],
        {
          origin,
        },
      );
      return context;
    },
    async close() {
      await browser.close().catch(() => {});
    },
  };
}
