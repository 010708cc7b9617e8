// One participant's page, whichever browser it runs in: Chromium through playwright (openPage, so
// its CSP violations reach csp-guard.ts live) or Firefox through puppeteer over WebDriver BiDi (its
// violations are kept in the page and polled by the same guard). Just what a mixed call needs:
// navigate, evaluate, press a button by its text, type the name.
import {
  type ElementHandle,
  type BrowserContext as FirefoxContext,
  type Page as FirefoxPage,
  TimeoutError,
} from "puppeteer-core";
import type { BrowserContext } from "playwright-core";
import type { HushTestView } from "../../web/src/app/testHooks";
import { loadRetryingStall } from "../support/stalled-load";
import { addCspCollector, CSP_CONSOLE_PATTERN, openPage } from "./pages";

export interface CallPage {
  name: string;
  browser: "chromium" | "firefox";
  goto(url: string): Promise<void>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  /** Clicks the button whose text is exactly `text`, waiting for it to be there and enabled. */
  press(text: string, timeoutMs?: number): Promise<void>;
  /** Waits until an element matches `selector`. */
  waitFor(selector: string, timeoutMs?: number): Promise<void>;
  /** Runs `fn` in every document the page loads, before the app's scripts. */
  beforeScripts(fn: () => void): Promise<void>;
  /** Saves what the page shows as a PNG at `path`. */
  screenshot(path: string): Promise<void>;
  console: string[];
  close(): Promise<void>;
}

export function viewOf(page: CallPage): Promise<HushTestView> {
  return page.evaluate(() => (window as unknown as { __hush: HushTestView }).__hush, undefined);
}

/** The enabled button with exactly `text`, or null; runs in the page. */
function findButton(text: string): HTMLButtonElement | null {
  return (
    Array.from(document.querySelectorAll("button")).find(
      (b) => b.textContent?.trim() === text && !b.disabled,
    ) ?? null
  );
}

export async function chromiumPage(context: BrowserContext, name: string): Promise<CallPage> {
  const participant = await openPage(context, name);
  const page = participant.page;
  return {
    name,
    browser: "chromium",
    async goto(url) {
      await page.goto(url);
    },
    evaluate: (fn, arg) => page.evaluate(fn as never, arg) as never,
    async press(text, timeoutMs = 30_000) {
      await page
        .getByRole("button", { name: text, exact: true })
        .and(page.locator("button:enabled"))
        .click({ timeout: timeoutMs });
    },
    async waitFor(selector, timeoutMs = 30_000) {
      await page.locator(selector).first().waitFor({ state: "attached", timeout: timeoutMs });
    },
    async beforeScripts(fn) {
      await page.addInitScript(fn);
    },
    async screenshot(path) {
      await page.screenshot({ path });
    },
    console: participant.console,
    close: () => context.close(),
  };
}

/** Listens for violations in the page and keeps them on window for the guard to poll. */
function keepCspViolations() {
  const kept: string[] = [];
  (window as unknown as { __hushCspKept: string[] }).__hushCspKept = kept;
  document.addEventListener("securitypolicyviolation", (event) => {
    kept.push(
      `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber} (${event.disposition})`,
    );
  });
}

export async function firefoxPage(context: FirefoxContext, name: string): Promise<CallPage> {
  const page: FirefoxPage = await context.newPage();
  // As for Chromium (test/support/browser.ts): a page load on busy cores may outlast 30 s.
  page.setDefaultNavigationTimeout(90_000);
  const lines: string[] = [];
  const heard: string[] = [];
  page.on("console", (message) => {
    lines.push(`[${name}] ${message.type()}: ${message.text()}`);
    if (lines.length > 400) lines.shift();
    if (CSP_CONSOLE_PATTERN.test(message.text()))
      heard.push(`[${name}] console: ${message.text()}`);
  });
  page.on("pageerror", (error) => lines.push(`[${name}] pageerror: ${String(error)}`));
  await page.evaluateOnNewDocument(keepCspViolations);
  const removeCollector = addCspCollector(async () => {
    const kept = await page
      .evaluate(
        () => (window as unknown as { __hushCspKept?: string[] }).__hushCspKept?.splice(0) ?? [],
      )
      .catch(() => [] as string[]);
    return [...heard.splice(0), ...kept.map((text) => `[${name}] ${text}`)];
  });
  return {
    name,
    browser: "firefox",
    async goto(url) {
      // A fragment-only change is no navigation: the app follows it (hashchange) by itself.
      await loadRetryingStall(url, {
        load: (timeout) => page.goto(url, { waitUntil: "load", timeout }),
        reload: (timeout) => page.reload({ waitUntil: "load", timeout }),
        currentUrl: () => page.url(),
        isTimeout: (error) => error instanceof TimeoutError,
      });
    },
    evaluate: (fn, arg) => page.evaluate(fn as never, arg) as never,
    async press(text, timeoutMs = 30_000) {
      // A real click through BiDi input, not element.click(): screen capture needs the user
      // activation only real input gives.
      const handle = await page.waitForFunction(findButton, { timeout: timeoutMs }, text);
      const button = handle.asElement();
      if (!button) throw new Error(`${name}: no button ${text}`);
      await (button as ElementHandle<Element>).click();
      await handle.dispose();
    },
    async waitFor(selector, timeoutMs = 30_000) {
      await page.waitForSelector(selector, { timeout: timeoutMs });
    },
    async beforeScripts(fn) {
      await page.evaluateOnNewDocument(fn);
    },
    async screenshot(path) {
      await page.screenshot({ path: path as `${string}.png` });
    },
    console: lines,
    async close() {
      removeCollector();
      await context.close().catch(() => {});
    },
  };
}

/** Types the display name on the pre-join screen and joins. */
export async function joinCall(page: CallPage, displayName: string): Promise<void> {
  await page.waitFor('input[name="displayName"]');
  await page.evaluate((value) => {
    const input = document.querySelector<HTMLInputElement>('input[name="displayName"]');
    if (!input) throw new Error("no name field");
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }, displayName);
  await page.press("Join call", 60_000);
  await page.waitFor(".call", 30_000);
}
