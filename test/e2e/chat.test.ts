// Chat, reactions and raised hands in real headless Chromium, in a three-person call through the
// real Worker and livekit-server: lines typed in the chat panel reach everyone once, in the same
// order and under the sender's verified name; the unread count and the keyboard work; a reaction
// floats over its sender's tile on the others' screens; a raised hand shows in the participant
// list and on the tile; a joiner sees what is said after it joined and nothing from before. The
// tests share one call and run in order.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  encodeCallSecret,
  fromBase64url,
  generateCallSecret,
  roomIdOf,
  systemRandom,
} from "../../web/src/core";
import { bytes, type Json, SpecClient } from "../protocol/spec-client";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import {
  joinFromPreJoin,
  openPage,
  type Participant,
  sleep,
  step,
  TEST_QUERY,
  view,
  waitFor,
} from "./pages";
import { screenshotPath } from "./screenshots";

const origin = inject("origin");
const secret = generateCallSecret(systemRandom);
const link = `${origin}/${TEST_QUERY}#${encodeCallSecret(secret)}`;

let browser: RunningBrowser;
let ada: Participant;
let ben: Participant;
let cy: Participant;
let everyone: Participant[];
const ids = new Map<Participant, string>();

function idOf(participant: Participant): string {
  const id = ids.get(participant);
  if (!id) throw new Error(`${participant.name} has no participant id yet`);
  return id;
}

interface ShownLine {
  id: string;
  state: string;
  name: string;
  text: string;
}

/** The chat log as the page shows it, top to bottom. */
function chatLog(participant: Participant): Promise<ShownLine[]> {
  return participant.page.$$eval("[data-chat-entry]", (items) =>
    items.map((item) => ({
      id: item.getAttribute("data-chat-entry") ?? "",
      state: item.getAttribute("data-state") ?? "",
      name: item.querySelector(".chat-name")?.textContent ?? "",
      text: item.querySelector(".chat-text")?.textContent ?? "",
    })),
  );
}

/** The Chat button's text, which is also its accessible name: "Chat" or "Chat 2 unread". */
async function chatButtonText(participant: Participant): Promise<string> {
  const text = await participant.page.locator("#chat-button").textContent();
  return (text ?? "").replace(/\s+/g, " ").trim();
}

async function openChat(participant: Participant) {
  if ((await participant.page.locator("#chat-panel").count()) > 0) return;
  await participant.page.locator("#chat-button").click();
  await participant.page.locator("#chat-panel").waitFor();
}

async function say(participant: Participant, text: string) {
  await openChat(participant);
  const input = participant.page.locator("#chat-input");
  await input.fill(text);
  await input.press("Enter");
  await waitFor(`${participant.name}'s line to leave the input`, async () => {
    return (await input.inputValue()) === "";
  });
}

async function join(participant: Participant) {
  await participant.page.goto(link);
  await participant.page.getByRole("button", { name: "Join call" }).waitFor();
  await joinFromPreJoin(participant);
  await waitFor(
    `${participant.name} to join`,
    async () => (await view(participant)).selfId !== undefined,
  );
  ids.set(participant, (await view(participant)).selfId ?? "");
}

describe("chat, reactions and raised hands, end-to-end encrypted", () => {
  beforeAll(async () => {
    browser = await launchBrowser();
    ada = await openPage(await browser.newParticipant(origin), "Ada");
    ben = await openPage(await browser.newParticipant(origin), "Ben");
    cy = await openPage(await browser.newParticipant(origin), "Cy");
    everyone = [ada, ben, cy];
    for (const participant of everyone) await join(participant);
    for (const participant of everyone) {
      await waitFor(`${participant.name} to see three verified members with a key`, async () => {
        const v = await view(participant);
        return v.rosterIds.length === 3 && (v.sendingEpoch ?? 0) > 0;
      });
    }
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("a line reaches the others with an unread count on their Chat button", async () => {
    await say(ada, "Hello from Ada");
    for (const participant of [ben, cy]) {
      await waitFor(
        `${participant.name}'s Chat button to count one unread line`,
        async () => (await chatButtonText(participant)) === "Chat 1 unread",
      );
      expect(await participant.page.locator("#chat-button .badge").textContent()).toBe("1");
    }
    // Opening the panel reads the line: the count goes and the line is there, named.
    await openChat(ben);
    await waitFor(
      "Ben's unread count to clear",
      async () => (await chatButtonText(ben)) === "Chat",
    );
    expect(await chatLog(ben)).toEqual([
      expect.objectContaining({ state: "shown", name: "Ada", text: "Hello from Ada" }),
    ]);
    // Ada sees her own line as hers, and no unread count for it.
    expect(await chatLog(ada)).toEqual([
      expect.objectContaining({ state: "shown", name: "You", text: "Hello from Ada" }),
    ]);
    expect(await chatButtonText(ada)).toBe("Chat");
  });

  it("three people writing at once: every page shows each line once, in one order, by its sender", async () => {
    await Promise.all([say(ada, "Ada: one"), say(ben, "Ben: two"), say(cy, "Cy: three")]);
    await say(ada, "Ada: four");
    const expected = ["Hello from Ada", "Ada: one", "Ben: two", "Cy: three", "Ada: four"];
    for (const participant of everyone) {
      await openChat(participant);
      await waitFor(
        `${participant.name} to show every line`,
        async () => (await chatLog(participant)).filter((l) => l.state === "shown").length >= 5,
      );
    }
    const logs = await Promise.all(everyone.map(chatLog));
    for (const [index, log] of logs.entries()) {
      const participant = everyone[index] as Participant;
      step(`${participant.name}'s chat: ${JSON.stringify(log.map((l) => [l.name, l.text]))}`);
      expect(log.map((l) => l.text).sort()).toEqual([...expected].sort());
      expect(new Set(log.map((l) => l.id)).size).toBe(log.length);
      for (const line of log) {
        const author = line.text.startsWith("Ben")
          ? "Ben"
          : line.text.startsWith("Cy")
            ? "Cy"
            : "Ada";
        expect(line.name).toBe(author === participant.name ? "You" : author);
        expect(line.state).toBe("shown");
      }
    }
    // One order on every page.
    const orders = logs.map((log) => log.map((l) => l.id).join(" "));
    expect(new Set(orders).size).toBe(1);
  });

  it("keyboard: Enter sends from the focused input, Escape closes the panel back to the Chat button", async () => {
    const page = cy.page;
    await page.locator("#chat-button").click(); // closes (it was open)
    await page.locator("#chat-panel").waitFor({ state: "detached" });
    await page.locator("#chat-button").click();
    await page.locator("#chat-panel").waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("chat-input");
    await page.keyboard.type("typed, not clicked");
    await page.keyboard.press("Enter");
    await waitFor("Ada to get Cy's typed line", async () =>
      (await chatLog(ada)).some((l) => l.text === "typed, not clicked" && l.name === "Cy"),
    );
    await page.keyboard.press("Escape");
    await page.locator("#chat-panel").waitFor({ state: "detached" });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("chat-button");
  });

  it("a reaction floats over the sender's tile on the others' screens", async () => {
    await ben.page.getByRole("button", { name: "React", exact: true }).click();
    await ben.page.getByRole("button", { name: "React with 🎉" }).click();
    for (const participant of [ada, cy]) {
      await waitFor(`${participant.name} to see Ben's 🎉 over his tile`, async () => {
        return (
          (await participant.page
            .locator(`[data-tile="${idOf(ben)}"] [data-reaction="🎉"]`)
            .count()) > 0
        );
      });
      // Over nobody else's tile, and said in words for a screen reader.
      expect(await participant.page.locator(`[data-reaction]`).count()).toBe(1);
      expect(await participant.page.locator('[aria-live="polite"]').allTextContents()).toContain(
        "Ben reacted 🎉",
      );
    }
    await openChat(ada);
    await sleep(200);
    await ada.page.screenshot({ path: await screenshotPath("call-chat.png") });
    // It lands after its few seconds.
    await waitFor(
      "the reaction to land",
      async () => (await ada.page.locator("[data-reaction]").count()) === 0,
      10_000,
    );
  });

  it("a raised hand shows in the participant list and on the tile, and goes when lowered", async () => {
    await cy.page.getByRole("button", { name: "Raise hand" }).click();
    expect(
      await cy.page.getByRole("button", { name: "Lower hand" }).getAttribute("aria-pressed"),
    ).toBe("true");
    if ((await ada.page.locator("#call-panel").count()) === 0)
      await ada.page.getByRole("button", { name: "People & security" }).click();
    const adaSeesHand = ada.page.locator(
      `#call-panel [data-participant="${idOf(cy)}"] [data-hand]`,
    );
    await waitFor(
      "Ada to see Cy's hand in the list",
      async () => (await adaSeesHand.count()) === 1,
    );
    await waitFor(
      "Ben to see Cy's hand on her tile",
      async () => (await ben.page.locator(`[data-tile="${idOf(cy)}"] [data-hand]`).count()) === 1,
    );
    await cy.page.getByRole("button", { name: "Lower hand" }).click();
    await waitFor("Cy's hand to go at Ada's", async () => (await adaSeesHand.count()) === 0);
  });

  it("a narrow screen shows the chat under the stage without sideways scrolling", async () => {
    await ben.page.setViewportSize({ width: 390, height: 844 });
    await openChat(ben);
    await sleep(300);
    expect(
      await ben.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
    ).toBe(true);
    const input = await ben.page.locator("#chat-input").boundingBox();
    expect(input, "the chat input is on screen").not.toBeNull();
    expect((input?.y ?? 0) + (input?.height ?? 0)).toBeLessThanOrEqual(844);
    await ben.page.screenshot({ path: await screenshotPath("call-chat-narrow.png") });
    await ben.page.setViewportSize({ width: 1200, height: 720 });
  });

  it("a joiner sees what is said after it joined, and nothing said before", async () => {
    const dee = await openPage(await browser.newParticipant(origin), "Dee");
    everyone.push(dee);
    await join(dee);
    await waitFor("Dee to hold a key", async () => ((await view(dee)).sendingEpoch ?? 0) > 0);
    await waitFor("Ada to send with a key Dee holds", async () => {
      const [a, d] = await Promise.all([view(ada), view(dee)]);
      return a.sendingEpoch !== undefined && d.keyEpochs.includes(a.sendingEpoch);
    });
    await say(ada, "Welcome, Dee");
    await openChat(dee);
    await waitFor("Dee to get the welcome", async () =>
      (await chatLog(dee)).some((l) => l.text === "Welcome, Dee" && l.name === "Ada"),
    );
    await sleep(500);
    const log = await chatLog(dee);
    step(`Dee's chat: ${JSON.stringify(log)}`);
    expect(log.map((l) => l.text)).toEqual(["Welcome, Dee"]);
  });

  it("a listener on the room without the call secret (a server, or anyone with the room id) gets only padded ciphertext, and its own line shows nowhere", async () => {
    const url = `${origin.replace(/^http/, "ws")}/v1/rooms/${roomIdOf(secret)}/ws`;
    const { client } = await SpecClient.join(url, bytes("not an announcement"));
    try {
      const line = "the meeting moves to 3 pm";
      await say(ada, line);
      await say(ben, "Ben: noted");
      // A broadcast of its own in the chat format (the room sends it under the listener's id).
      const forged = new Uint8Array(200);
      forged[0] = 0x43;
      forged[1] = 1;
      client.send({ type: "broadcast", payload: Buffer.from(forged).toString("base64url") });
      await openChat(cy);
      await waitFor("Cy to get Ben's line", async () =>
        (await chatLog(cy)).some((l) => l.text === "Ben: noted"),
      );
      await sleep(500);
      const heard: Json[] = [];
      while (client.pending() > 0) heard.push(await client.next());
      const chats = heard
        .filter((m) => m.type === "broadcast" && typeof m.payload === "string")
        .map((m) => fromBase64url(m.payload as string))
        .filter((b) => b[0] === 0x43);
      step(`the listener heard ${heard.length} messages, ${chats.length} of them chat`);
      expect(chats.length).toBeGreaterThanOrEqual(2);
      for (const chat of chats) {
        // Header 38, tag 16, signature 64: the rest is the padded plaintext.
        expect((chat.length - 38 - 16 - 64) % 64).toBe(0);
        const text = Buffer.from(chat).toString("latin1");
        expect(text).not.toContain("meeting");
        expect(text).not.toContain("Ada");
      }
      expect(JSON.stringify(heard)).not.toContain("meeting");
      for (const participant of everyone) {
        await openChat(participant);
        const log = await chatLog(participant);
        expect(log.every((l) => l.name !== "")).toBe(true);
        expect(log.filter((l) => l.state !== "shown")).toEqual([]);
      }
    } finally {
      client.close();
    }
  });
});
