// Every way a person can be kept out of a call gets its own screen saying what happened and what to
// do, in real headless Chromium through the real Worker and livekit-server: a browser without
// encoded transforms, a camera the browser denies, a full room, an unreachable SFU and an
// unreachable Worker. Each screen is an alert with a heading, and after it the app still works.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { encodeCallSecret, generateCallSecret, systemRandom } from "../../web/src/core";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import { freePort } from "../support/ports";
import { type StartedWorker, startWorker } from "../support/worker";
import { joinFromPreJoin, openPage, type Participant, step, view, waitFor } from "./pages";

const origin = inject("origin");
const livekit = inject("livekit");
/** No key rotation needed here; low video keeps two cores free for the other pages. */
const QUERY = "?video=low";

let browser: RunningBrowser;
/** ROOM_CAPACITY 1, the real livekit-server. */
let smallWorker: StartedWorker;
/** LIVEKIT_URL points at a loopback port nothing listens on; stopped mid-suite. */
let noSfuWorker: StartedWorker;
const opened: Participant[] = [];

function newLink(at: string): string {
  return `${at}/${QUERY}#${encodeCallSecret(generateCallSecret(systemRandom))}`;
}

async function participant(name: string, at = origin): Promise<Participant> {
  const p = await openPage(await browser.newParticipant(at), name);
  opened.push(p);
  return p;
}

/** The error screen of `kind`: an alert labelled by its heading, with the "what to do" text. */
async function expectProblem(page: Page, kind: string, title: string, todo: string) {
  const alert = page.getByRole("alert", { name: title });
  await alert.waitFor({ timeout: 60_000 });
  expect(await alert.getAttribute("data-problem")).toBe(kind);
  expect(await alert.getByRole("heading", { level: 1 }).textContent()).toBe(title);
  expect(await alert.textContent()).toContain(todo);
  expect(await page.getByRole("button", { name: "Start page" }).isEnabled()).toBe(true);
}

/** Fills the name and presses join without waiting for the call screen (it may never come). */
async function pressJoin(p: Participant) {
  await p.page.getByLabel(/Your name/).fill(p.name);
  await waitFor("the join button", () =>
    p.page.getByRole("button", { name: "Join call" }).isEnabled(),
  );
  await p.page.getByRole("button", { name: "Join call" }).click();
}

async function waitConnected(p: Participant) {
  await waitFor(
    async () =>
      `${p.name} to be connected: ${JSON.stringify(await view(p))}\n${p.console.join("\n")}`,
    async () => (await view(p)).connection === "connected",
    60_000,
  );
}

describe("error screens", () => {
  beforeAll(async () => {
    const closedPort = await freePort();
    const vars = { LIVEKIT_API_KEY: livekit.apiKey, LIVEKIT_API_SECRET: livekit.apiSecret };
    const [small, noSfu, chromium] = await Promise.allSettled([
      startWorker({ vars: { ...vars, LIVEKIT_URL: livekit.url, ROOM_CAPACITY: "1" } }),
      startWorker({ vars: { ...vars, LIVEKIT_URL: `ws://127.0.0.1:${closedPort}` } }),
      launchBrowser(),
    ]);
    if (small.status === "fulfilled") smallWorker = small.value;
    if (noSfu.status === "fulfilled") noSfuWorker = noSfu.value;
    if (chromium.status === "fulfilled") browser = chromium.value;
    for (const result of [small, noSfu, chromium]) {
      if (result.status === "rejected") throw result.reason;
    }
    step("error suite: two extra Workers and Chromium started");
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.allSettled([smallWorker?.stop(), noSfuWorker?.stop()]);
  });

  it("a browser without encoded transforms gets a screen, never an unencrypted call", async () => {
    const p = await participant("Una");
    // What a browser without insertable streams or RTCRtpScriptTransform looks like to livekit.
    await p.context.addInitScript(() => {
      delete (RTCRtpSender.prototype as { createEncodedStreams?: unknown }).createEncodedStreams;
      delete (window as { RTCRtpScriptTransform?: unknown }).RTCRtpScriptTransform;
    });
    const title = "This browser cannot encrypt calls end to end";
    // Opening an invite link ...
    await p.page.goto(newLink(origin));
    await expectProblem(p.page, "unsupported-browser", title, "Open the link in a current Chrome");
    // ... offers no "Try again" (nothing would change) and never opens the camera.
    expect(await p.page.getByRole("button", { name: "Try again" }).count()).toBe(0);
    expect(await p.page.locator("video").count()).toBe(0);
    // Starting a call is refused the same way.
    await p.page.getByRole("button", { name: "Start page" }).click();
    await p.page.getByRole("button", { name: "New call" }).click();
    await expectProblem(p.page, "unsupported-browser", title, "Open the link in a current Chrome");
    expect(p.page.url()).not.toContain("#");
  });

  it("a camera the browser denies gets a screen, and joining without it still works", async () => {
    // A separate Chromium whose media permission prompt answers "deny" to every request.
    const denying = await launchBrowser(["--use-fake-ui-for-media-stream=deny"]);
    try {
      const p = await openPage(await denying.newParticipant(origin), "Dee");
      await p.page.goto(newLink(origin));
      await expectProblem(
        p.page,
        "camera-denied",
        "Camera or microphone blocked",
        "Allow camera and microphone for this site",
      );
      // "Try again" asks again (and is denied again); the screen stays.
      await p.page.getByRole("button", { name: "Try again" }).click();
      await expectProblem(
        p.page,
        "camera-denied",
        "Camera or microphone blocked",
        "You can also join without them",
      );
      await p.page.getByRole("button", { name: "Join without camera and microphone" }).click();
      await p.page.getByRole("heading", { name: "Ready to join?" }).waitFor();
      expect(await p.page.getByRole("status").first().textContent()).toContain("join without them");
      await joinFromPreJoin(p);
      await waitConnected(p);
      const v = await view(p);
      expect(v.screen).toBe("call");
      expect(v.rosterIds).toHaveLength(1);
      expect(v.published).toEqual([]);
    } finally {
      await denying.close();
    }
  });

  it("a full room gets a screen; once someone leaves, Try again gets in", async () => {
    const link = newLink(smallWorker.origin);
    const ann = await participant("Ann", smallWorker.origin);
    const ben = await participant("Ben", smallWorker.origin);
    await ann.page.goto(link);
    await joinFromPreJoin(ann);
    await waitConnected(ann);
    await ben.page.goto(link);
    await pressJoin(ben);
    await expectProblem(
      ben.page,
      "room-full",
      "This call is full",
      "Try again when someone has left",
    );
    // Ann's call carries on alone, and nobody else reached the room.
    expect((await view(ann)).rosterIds).toHaveLength(1);
    expect((await view(ann)).connection).toBe("connected");
    await ann.page.getByRole("button", { name: "Leave" }).click();
    await ann.page.getByRole("heading", { name: "You left the call" }).waitFor();
    await ben.page.getByRole("button", { name: "Try again" }).click();
    await joinFromPreJoin(ben);
    await waitConnected(ben);
    expect((await view(ben)).rosterIds).toHaveLength(1);
  });

  it("an unreachable media server gets a screen; an unreachable call server gets another", async () => {
    const link = newLink(noSfuWorker.origin);
    const sam = await participant("Sam", noSfuWorker.origin);
    const wes = await participant("Wes", noSfuWorker.origin);
    await sam.page.goto(link);
    // Wes has the app loaded (pre-join) before the Worker goes away.
    await wes.page.goto(link);
    await wes.page.getByRole("heading", { name: "Ready to join?" }).waitFor();
    await pressJoin(sam);
    // The Worker admits Sam and mints a token, but the SFU it names does not answer.
    await expectProblem(
      sam.page,
      "sfu-unreachable",
      "Cannot reach the media server",
      "a firewall may block WebRTC",
    );
    expect(await sam.page.getByRole("button", { name: "Try again" }).isEnabled()).toBe(true);
    // Now the Worker itself is gone: after the core's bounded reconnect attempts, its own screen.
    await noSfuWorker.stop();
    step("the no-SFU Worker is stopped; Wes joins");
    await pressJoin(wes);
    await expectProblem(
      wes.page,
      "worker-unreachable",
      "Cannot reach the call server",
      "Check your internet connection",
    );
    expect(await wes.page.getByRole("button", { name: "Try again" }).isEnabled()).toBe(true);
    // Start page still works: a new call can be started.
    await wes.page.getByRole("button", { name: "Start page" }).click();
    await wes.page.getByRole("heading", { name: "End-to-end encrypted group calls" }).waitFor();
  });
});
