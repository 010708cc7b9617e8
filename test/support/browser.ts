// Debian's Chromium driven by playwright-core, for the end-to-end suite. One browser per suite and
// one context per participant (each context is a separate profile: own storage, own devices), with
// fake camera and microphone so calls carry real encoded media without hardware.
import { type Browser, type BrowserContext, chromium, type Request } from "playwright-core";

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

const NAVIGATION_TIMEOUT_MS = 90_000;
const SLOW_REQUEST_MS = 10_000;

/** Prints each HTTP request of `context` that has not finished SLOW_REQUEST_MS after it started. */
function reportSlowRequests(context: BrowserContext) {
  const open = new Map<Request, ReturnType<typeof setTimeout>>();
  const settle = (request: Request) => {
    clearTimeout(open.get(request));
    open.delete(request);
  };
  context.on("request", (request) => {
    if (!request.url().startsWith("http")) return;
    const started = Date.now();
    const timer = setTimeout(() => {
      const { pathname } = new URL(request.url());
      console.log(
        `${new Date().toISOString()} slow request: ${request.method()} ${pathname} open for ${Date.now() - started} ms`,
      );
    }, SLOW_REQUEST_MS);
    timer.unref();
    open.set(request, timer);
  });
  context.on("requestfinished", settle);
  context.on("requestfailed", settle);
}

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
      // CI saw page loads of this app (index.html, one script, one stylesheet from the local
      // Worker) outlast playwright's default 30 s while the two cores were busy: a request the dev
      // server never answers (test/support/stalled-load.ts, which openPage's page.goto retries).
      // Navigations get 90 s, and a request still open after 10 s is printed, so that a stall
      // says where it is.
      context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
      reportSlowRequests(context);
      return context;
    },
    async close() {
      await browser.close().catch(() => {});
    },
  };
}
