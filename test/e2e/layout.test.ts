// The call stage in real headless Chromium, in a three-person call through the real Worker and
// livekit-server: tiles fill the space the stage has and follow it when it changes, the speaker
// layout features one tile above a strip, and a stage too small for every tile pages them. With
// livekit's adaptive stream, a tile on another page receives no video, and its video decrypts
// and decodes again when its page comes back (E2EE survives the pause). The tests share one call.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { encodeCallSecret, generateCallSecret, systemRandom } from "../../web/src/core";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import {
  joinFromPreJoin,
  openPage,
  type Participant,
  sleep,
  step,
  TEST_QUERY,
  tilePixels,
  view,
  waitFor,
} from "./pages";
import { screenshotPath } from "./screenshots";

const origin = inject("origin");
const link = `${origin}/${TEST_QUERY}#${encodeCallSecret(generateCallSecret(systemRandom))}`;

let browser: RunningBrowser;
let lia: Participant;
let max: Participant;
let noa: Participant;
let everyone: Participant[];
const ids = new Map<Participant, string>();
const idOf = (participant: Participant) => ids.get(participant) ?? "";

interface Box {
  key: string;
  featured: boolean;
  x: number;
  y: number;
  width: number;
  height: number;
}

interface StageGeometry {
  stage: { width: number; height: number };
  layout: string | undefined;
  pages: number;
  /** The tiles the page renders (not those on other pages), relative to the stage. */
  tiles: Box[];
}

function geometry(participant: Participant): Promise<StageGeometry> {
  return participant.page.evaluate(() => {
    const stage = document.querySelector<HTMLElement>(".stage");
    if (!stage) throw new Error("no stage");
    const outer = stage.getBoundingClientRect();
    const tiles = Array.from(stage.querySelectorAll<HTMLElement>("[data-tile]"))
      .filter((tile) => tile.getClientRects().length > 0)
      .map((tile) => {
        const box = tile.getBoundingClientRect();
        return {
          key: `${tile.dataset.tile}${tile.hasAttribute("data-screen") ? ":screen" : ""}`,
          featured: tile.hasAttribute("data-featured"),
          x: box.x - outer.x,
          y: box.y - outer.y,
          width: box.width,
          height: box.height,
        };
      });
    return {
      stage: { width: outer.width, height: outer.height },
      layout: stage.dataset.layout,
      pages: Number(stage.dataset.pages),
      tiles,
    };
  });
}

/** Every rendered tile lies inside the stage and no two overlap; returns the share of area used. */
function expectInsideAndApart(g: StageGeometry): number {
  for (const tile of g.tiles) {
    expect(tile.x, `${tile.key} left`).toBeGreaterThanOrEqual(-0.5);
    expect(tile.y, `${tile.key} top`).toBeGreaterThanOrEqual(-0.5);
    expect(tile.x + tile.width, `${tile.key} right`).toBeLessThanOrEqual(g.stage.width + 0.5);
    expect(tile.y + tile.height, `${tile.key} bottom`).toBeLessThanOrEqual(g.stage.height + 0.5);
    expect(tile.width).toBeGreaterThan(0);
  }
  g.tiles.forEach((a, i) => {
    for (const b of g.tiles.slice(i + 1)) {
      const apart =
        a.x + a.width <= b.x + 0.5 ||
        b.x + b.width <= a.x + 0.5 ||
        a.y + a.height <= b.y + 0.5 ||
        b.y + b.height <= a.y + 0.5;
      expect(apart, `${a.key} and ${b.key} overlap: ${JSON.stringify([a, b])}`).toBe(true);
    }
  });
  const used = g.tiles.reduce((sum, tile) => sum + tile.width * tile.height, 0);
  return used / (g.stage.width * g.stage.height);
}

async function framesFrom(receiver: Participant, sender: Participant) {
  return (await view(receiver)).receive[idOf(sender)]?.videoFramesDecoded ?? 0;
}

describe("the call stage uses the space it has", () => {
  beforeAll(async () => {
    browser = await launchBrowser();
    lia = await openPage(await browser.newParticipant(origin), "Lia");
    max = await openPage(await browser.newParticipant(origin), "Max");
    noa = await openPage(await browser.newParticipant(origin), "Noa");
    everyone = [lia, max, noa];
    for (const participant of everyone) {
      await participant.page.goto(link);
      await participant.page.getByRole("button", { name: "Join call" }).waitFor();
      await joinFromPreJoin(participant);
    }
    for (const participant of everyone) {
      await waitFor(`${participant.name} to see three verified members`, async () => {
        const v = await view(participant);
        return v.rosterIds.length === 3 && v.selfId !== undefined;
      });
      ids.set(participant, (await view(participant)).selfId ?? "");
    }
    for (const participant of everyone) {
      for (const sender of everyone.filter((p) => p !== participant)) {
        await waitFor(
          `${participant.name} to decode ${sender.name}`,
          async () => (await framesFrom(participant, sender)) > 10,
          60_000,
        );
      }
    }
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("three tiles fill the stage, inside it and apart, and grow when the panel closes", async () => {
    const withPanel = await geometry(lia);
    const share = expectInsideAndApart(withPanel);
    step(`grid with the panel: stage ${JSON.stringify(withPanel.stage)}, ${share} of it used`);
    expect(withPanel.layout).toBe("grid");
    expect(withPanel.pages).toBe(1);
    expect(withPanel.tiles.map((t) => t.key).sort()).toEqual(everyone.map(idOf).sort());
    // Three 16:9 tiles on a stage of about 880x590: two rows of 434x244 use 60% of it.
    expect(share).toBeGreaterThan(0.5);
    await lia.page.getByRole("button", { name: "People & security" }).click();
    await waitFor("the stage to widen", async () => {
      const g = await geometry(lia);
      return g.stage.width > withPanel.stage.width + 200;
    });
    await sleep(300);
    const wide = await geometry(lia);
    const wideShare = expectInsideAndApart(wide);
    step(`grid without the panel: stage ${JSON.stringify(wide.stage)}, ${wideShare} of it used`);
    expect(wideShare).toBeGreaterThan(0.5);
    expect(wide.tiles[0]?.width ?? 0).toBeGreaterThan(withPanel.tiles[0]?.width ?? Infinity);
    // Every frame still decodes into a picture in its new size.
    for (const sender of [max, noa]) {
      const pixels = await tilePixels(lia, idOf(sender));
      expect(pixels.width, `Lia renders ${sender.name}`).toBeGreaterThan(0);
      expect(pixels.variance).toBeGreaterThan(100);
    }
  });

  it("the speaker layout shows one tile large above a strip, a screen share first", async () => {
    const speaker = lia.page.getByRole("button", { name: "Speaker", exact: true });
    await speaker.click();
    expect(await speaker.getAttribute("aria-pressed")).toBe("true");
    await waitFor("the speaker layout", async () => (await geometry(lia)).layout === "speaker");
    const g = await geometry(lia);
    expectInsideAndApart(g);
    const featured = g.tiles.filter((t) => t.featured);
    expect(featured).toHaveLength(1);
    const big = featured[0] as Box;
    // Someone else, not our own camera, is featured while others are there.
    expect(big.key).not.toBe(idOf(lia));
    for (const tile of g.tiles.filter((t) => !t.featured)) {
      expect(tile.y).toBeGreaterThanOrEqual(big.y + big.height - 0.5);
      expect(big.width * big.height).toBeGreaterThan(4 * tile.width * tile.height);
    }
    step(`speaker layout: ${JSON.stringify(g.tiles)}`);
    // Max shares his screen: it takes the large tile at Lia's, and decodes there.
    await max.page.getByRole("button", { name: "Share screen" }).click();
    await max.page.getByRole("button", { name: "Stop sharing" }).waitFor();
    const screenKey = `${idOf(max)}:screen`;
    await waitFor(
      async () => `Max's screen to be featured: ${JSON.stringify(await geometry(lia))}`,
      async () => (await geometry(lia)).tiles.some((t) => t.key === screenKey && t.featured),
    );
    await waitFor("Lia to decode Max's screen", () =>
      lia.page.evaluate(
        (id) =>
          (document.querySelector<HTMLVideoElement>(`[data-tile="${id}"][data-screen] video`)
            ?.videoWidth ?? 0) > 0,
        idOf(max),
      ),
    );
    expectInsideAndApart(await geometry(lia));
    await lia.page.screenshot({ path: await screenshotPath("call-speaker.png") });
    await max.page.getByRole("button", { name: "Stop sharing" }).click();
    await waitFor(
      "Max's screen tile to go",
      async () => !(await geometry(lia)).tiles.some((t) => t.key === screenKey),
    );
    await lia.page.getByRole("button", { name: "Grid", exact: true }).click();
    await waitFor("the grid again", async () => (await geometry(lia)).layout === "grid");
  });

  it("a small window pages the tiles; an off-page sender costs no video, and decodes again when back", async () => {
    await lia.page.setViewportSize({ width: 480, height: 480 });
    const status = lia.page.getByRole("status").filter({ hasText: /^Page \d+ of \d+$/ });
    await status.waitFor();
    const first = await geometry(lia);
    step(`small window: stage ${JSON.stringify(first.stage)}, pages ${first.pages}`);
    expectInsideAndApart(first);
    expect(first.pages).toBeGreaterThanOrEqual(2);
    expect(await status.textContent()).toBe(`Page 1 of ${first.pages}`);
    expect(first.tiles.length).toBeLessThan(3);
    // Our own tile comes first, so Noa (last by join order) is on a later page.
    const shown = new Set(first.tiles.map((t) => t.key));
    expect(shown.has(idOf(noa))).toBe(false);
    // With adaptive stream, nothing of Noa's video reaches Lia while her tile is not shown; her
    // audio keeps playing.
    await sleep(1500);
    const hiddenFrom = await view(lia);
    await sleep(3000);
    const hiddenTo = await view(lia);
    const packets = (v: typeof hiddenFrom) => v.receive[idOf(noa)]?.videoPacketsReceived ?? 0;
    const samples = (v: typeof hiddenFrom) => v.receive[idOf(noa)]?.audioSamplesDecoded ?? 0;
    step(
      `Noa off-page at Lia's for 3 s: video packets ${packets(hiddenFrom)} -> ${packets(hiddenTo)}, audio samples ${samples(hiddenFrom)} -> ${samples(hiddenTo)}`,
    );
    expect(packets(hiddenTo) - packets(hiddenFrom)).toBeLessThan(5);
    expect(samples(hiddenTo)).toBeGreaterThan(samples(hiddenFrom));
    // The keyboard turns the page: focus stays on the button.
    const next = lia.page.getByRole("button", { name: "Next page" });
    await next.focus();
    while ((await status.textContent()) !== `Page ${first.pages} of ${first.pages}`) {
      await lia.page.keyboard.press("Enter");
      await sleep(200);
    }
    expect(await next.evaluate((button) => button === document.activeElement)).toBe(true);
    expect(await next.getAttribute("aria-disabled")).toBe("true");
    const last = await geometry(lia);
    expectInsideAndApart(last);
    expect(last.tiles.map((t) => t.key)).toContain(idOf(noa));
    for (const tile of last.tiles) expect(shown.has(tile.key)).toBe(false);
    // Noa's video resumes, decrypts and decodes into a picture.
    const before = await framesFrom(lia, noa);
    await waitFor(
      "Lia to decode Noa again",
      async () => (await framesFrom(lia, noa)) > before + 10,
      30_000,
    );
    await waitFor(
      "Noa's picture at Lia's",
      async () => (await tilePixels(lia, idOf(noa))).variance > 100,
    );
    const errors = await view(lia);
    expect(errors.decryptErrorsBy[idOf(noa)] ?? 0).toBe(0);
    expect(errors.tileStates[idOf(noa)]).toBe("encrypted");
    await lia.page.screenshot({ path: await screenshotPath("call-paged.png") });
    await lia.page.getByRole("button", { name: "Previous page" }).click();
    await lia.page.setViewportSize({ width: 1200, height: 720 });
    await waitFor("one page again", async () => (await geometry(lia)).pages === 1);
  });
});
