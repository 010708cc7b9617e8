// Accessibility, measured: axe-core audits every screen of the app (start, pre-join, the call with
// tiles and the people & security panel open, error screens, the left screen) in the suite's
// Chromium, under the app's real Content-Security-Policy, and a keyboard-only person joins, mutes,
// shares the screen and leaves. Any serious or critical axe finding fails. The screens of an
// ask-to-join call (the waiting room, the host's prompt, declined and removed) are audited in
// admission.test.ts, which reaches them. The audit itself is in axe.ts.

import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { encodeCallSecret, generateCallSecret, systemRandom } from "../../web/src/core";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import { expectAccessible } from "./axe";
import { joinFromPreJoin, openPage, type Participant, TEST_QUERY, view, waitFor } from "./pages";

const origin = inject("origin");
function newLink(): string {
  return `${origin}/${TEST_QUERY}#${encodeCallSecret(generateCallSecret(systemRandom))}`;
}

/**
 * Presses Tab until the focused element's accessible text matches `name` (its aria-label, its
 * label or its text), as a keyboard user would; fails after `max` presses.
 */
async function tabTo(page: Page, name: RegExp, max = 40): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const element = document.activeElement as HTMLElement | null;
      if (!element || element === document.body) return "";
      const labelled = element.getAttribute("aria-label");
      const label = (element as HTMLInputElement).labels?.[0]?.textContent;
      return (labelled ?? label ?? element.textContent ?? "").trim();
    });
    seen.push(focused);
    if (name.test(focused)) return;
  }
  throw new Error(`Tab never reached ${name}; focus went through: ${seen.join(" | ")}`);
}

describe("accessibility", () => {
  let browser: RunningBrowser;
  let ada: Participant;
  let ben: Participant;
  const link = newLink();

  beforeAll(async () => {
    browser = await launchBrowser();
    ada = await openPage(await browser.newParticipant(origin), "Ada");
    ben = await openPage(await browser.newParticipant(origin), "Ben");
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("start screen", async () => {
    await ada.page.goto(`${origin}/${TEST_QUERY}`);
    await ada.page.getByRole("button", { name: "New call" }).waitFor();
    await expectAccessible(ada.page, "start screen");
  });

  it("error screen: a damaged invite link", async () => {
    await ada.page.goto(`${origin}/${TEST_QUERY}#not-a-secret`);
    await ada.page.getByRole("alert").waitFor();
    expect(await ada.page.getByRole("alert").getAttribute("data-problem")).toBe("invalid-link");
    await expectAccessible(ada.page, "invalid-link error screen");
  });

  it("error screen: a browser that cannot encrypt", async () => {
    const una = await openPage(await browser.newParticipant(origin), "Una");
    await una.page.addInitScript(() => {
      delete (RTCRtpSender.prototype as { createEncodedStreams?: unknown }).createEncodedStreams;
      delete (window as { RTCRtpScriptTransform?: unknown }).RTCRtpScriptTransform;
    });
    await una.page.goto(newLink());
    await una.page.getByRole("alert").waitFor();
    expect(await una.page.getByRole("alert").getAttribute("data-problem")).toBe(
      "unsupported-browser",
    );
    await expectAccessible(una.page, "unsupported-browser error screen");
    await una.context.close();
  });

  it("pre-join screen, with the camera preview running", async () => {
    await ada.page.goto(link);
    await ada.page.getByRole("button", { name: "Join call" }).waitFor({ timeout: 30_000 });
    await ada.page.locator(".preview video").waitFor();
    await expectAccessible(ada.page, "pre-join screen");
  });

  it("call screen: two tiles decoding, the people & security panel open", async () => {
    await joinFromPreJoin(ada);
    await ben.page.goto(link);
    await joinFromPreJoin(ben);
    const adaId = (await view(ada)).selfId ?? "";
    await waitFor(
      "Ben to decode Ada's camera",
      async () => ((await view(ben)).receive[adaId]?.videoFramesDecoded ?? 0) > 5,
      60_000,
    );
    await waitFor("two tiles on Ben's screen", async () => {
      return (await ben.page.locator("[data-tile]").count()) >= 2;
    });
    expect(await ben.page.locator("#call-panel").isVisible()).toBe(true);
    await expectAccessible(ben.page, "call screen");
  });

  it("call screen with the panel closed", async () => {
    await ben.page.getByRole("button", { name: "People & security" }).click();
    await ben.page.locator("#call-panel").waitFor({ state: "detached" });
    await expectAccessible(ben.page, "call screen without the panel");
    await ben.page.getByRole("button", { name: "People & security" }).click();
  });

  it("call screen with the chat open, a line in it, the reaction menu open and a hand raised", async () => {
    await ada.page.locator("#chat-button").click();
    await ada.page.locator("#chat-input").fill("Can you hear me?");
    await ada.page.locator("#chat-input").press("Enter");
    await ada.page.getByRole("button", { name: "Raise hand" }).click();
    await waitFor(
      "Ben's Chat button to count Ada's line",
      async () => (await ben.page.getByRole("button", { name: "Chat 1 unread" }).count()) === 1,
    );
    await waitFor(
      "Ben to see Ada's hand",
      async () => (await ben.page.locator("#call-panel [data-hand]").count()) === 1,
    );
    await expectAccessible(ben.page, "call screen with an unread line and a raised hand");
    await ben.page.locator("#chat-button").click();
    await ben.page.locator('[data-chat-entry][data-state="shown"]').waitFor();
    await ben.page.getByRole("button", { name: "React", exact: true }).click();
    await ben.page.locator("#reaction-menu").waitFor();
    await expectAccessible(ben.page, "call screen with the chat and the reaction menu open");
    await ben.page.keyboard.press("Escape");
    await ben.page.locator("#reaction-menu").waitFor({ state: "detached" });
    expect(await ben.page.evaluate(() => document.activeElement?.textContent?.trim())).toBe(
      "React",
    );
    await ben.page.locator("#chat-button").click();
    await ben.page.locator("#chat-panel").waitFor({ state: "detached" });
  });

  it("left screen", async () => {
    await ben.page.getByRole("button", { name: "Leave" }).click();
    await ben.page.getByRole("heading", { name: "You left the call" }).waitFor();
    await expectAccessible(ben.page, "left screen");
  });

  it("keyboard only: join, mute, share the screen, leave", async () => {
    const kim = await openPage(await browser.newParticipant(origin), "Kim");
    const page = kim.page;
    await page.goto(link);
    await page.getByRole("button", { name: "Join call" }).waitFor({ timeout: 30_000 });
    await tabTo(page, /^Your name/);
    await page.keyboard.type("Kim");
    await tabTo(page, /^Join call$/);
    await page.keyboard.press("Enter");
    await page.locator(".call").waitFor({ timeout: 30_000 });
    await waitFor("Kim connected", async () => (await view(kim)).connection === "connected");

    await tabTo(page, /^Mute$/);
    await page.keyboard.press("Space");
    const unmute = page.getByRole("button", { name: "Unmute" });
    await unmute.waitFor();
    expect(await unmute.getAttribute("aria-pressed")).toBe("true");
    // Focus stays on the control it acted on, so the next key press can undo it.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Unmute");

    await tabTo(page, /^Share screen$/);
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Stop sharing" }).waitFor({ timeout: 30_000 });
    const kimId = (await view(kim)).selfId ?? "";
    await waitFor(
      "Ada to decode Kim's screen",
      async () => {
        const tile = ada.page.locator(`[data-tile="${kimId}"][data-screen] video`);
        return (
          (await tile.count()) > 0 &&
          (await tile.evaluate((v: HTMLVideoElement) => v.videoWidth)) > 0
        );
      },
      60_000,
    );

    await tabTo(page, /^Leave$/);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "You left the call" }).waitFor();
    await kim.context.close();
  });
});
