// Debian's Firefox ESR driven by puppeteer-core over WebDriver BiDi, for the browser suite's mixed
// calls. One browser per suite and one user context per participant (own storage and permissions),
// with Firefox's fake camera and microphone and its permission prompts off. Headless by default;
// headed on a virtual X display (test/support/xvfb.ts) when a test shares the screen.
import puppeteer, { type Browser, type BrowserContext } from "puppeteer-core";

export const FIREFOX_BIN = process.env.FIREFOX_BIN ?? "/usr/bin/firefox-esr";

const FIREFOX_PREFS: Record<string, unknown> = {
  // Fake camera (a moving colour pattern) and microphone (a tone), no device prompt.
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  // Screen sharing without the picker: with permission prompts off getDisplayMedia takes the first
  // screen. The fake-media pref does not cover screens: headless Firefox has none and answers
  // NotFoundError; a headed Firefox on Xvfb shares that display.
  "media.getdisplaymedia.enabled": true,
  // Without these two ICE fails against a local livekit-server: Firefox offers no loopback
  // candidates by default and hides host addresses behind mDNS names the SFU cannot resolve.
  "media.peerconnection.ice.loopback": true,
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  // Several participants share one headless browser: background tabs must keep playing and decoding.
  "media.autoplay.default": 0,
  "media.autoplay.blocking_policy": 0,
  "dom.min_background_timeout_value": 4,
  "dom.timeout.enable_budget_timer_throttling": false,
  // No first-run pages, updates or telemetry reaching for the network.
  "browser.shell.checkDefaultBrowser": false,
  "app.update.enabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "toolkit.telemetry.enabled": false,
};

export interface RunningFirefox {
  browser: Browser;
  /** A fresh user context (own storage) for one participant. */
  newParticipant(): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** This process's environment with `display` as the only display Firefox can reach. */
function x11Env(display: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, DISPLAY: display };
  delete env.WAYLAND_DISPLAY;
  delete env.MOZ_ENABLE_WAYLAND;
  return env;
}

export interface FirefoxOptions {
  /** An X display (e.g. from startXvfb()) to run headed on, so getDisplayMedia has a screen. */
  display?: string;
}

export async function launchFirefox(options: FirefoxOptions = {}): Promise<RunningFirefox> {
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX_BIN,
    protocol: "webDriverBiDi",
    headless: options.display === undefined,
    ...(options.display === undefined ? {} : { env: x11Env(options.display) }),
    extraPrefsFirefox: FIREFOX_PREFS,
    defaultViewport: { width: 1200, height: 720 },
    timeout: 60_000,
  });
  return {
    browser,
    newParticipant: () => browser.createBrowserContext(),
    async close() {
      await browser.close().catch(() => {});
    },
  };
}
