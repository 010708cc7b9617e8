// The per-incarnation record of chat messages taken (web/src/core/chat-window.ts): every counter is
// taken once, memory stays bounded however long the call runs, and a replay of a message far
// behind the sender's newest is refused rather than forgotten.
import { describe, expect, it } from "vitest";
import { CHAT_WINDOW, ChatWindow, firstChatCounter } from "../../web/src/core/chat-window.js";
import { seededRandom } from "./sim/seeded-random.js";

describe("chat message window", () => {
  it("takes each counter once, in any order", () => {
    const window = new ChatWindow();
    for (const counter of [10, 12, 11, 15]) {
      expect(window.has(counter)).toBe(false);
      window.add(counter);
      expect(window.has(counter)).toBe(true);
    }
    expect(window.has(13)).toBe(false);
    expect(window.has(14)).toBe(false);
  });

  it("after a long call, an old message replayed is still refused and memory stays bounded", () => {
    const window = new ChatWindow();
    const first = 1_000;
    const total = 5 * CHAT_WINDOW;
    for (let i = 0; i < total; i++) window.add(first + i);
    // The first messages are far behind the newest: refused as taken, though no longer listed.
    expect(window.has(first)).toBe(true);
    expect(window.has(first + total - CHAT_WINDOW)).toBe(true);
    expect(window.has(first + total)).toBe(false);
    const listed = (window as unknown as { taken: Set<number> }).taken.size;
    expect(listed).toBeLessThanOrEqual(2 * CHAT_WINDOW + 1);
  });

  it("a message held back within the window still passes once", () => {
    const window = new ChatWindow();
    for (let i = 0; i < CHAT_WINDOW - 1; i++) if (i !== 5) window.add(100 + i);
    expect(window.has(105)).toBe(false);
    window.add(105);
    expect(window.has(105)).toBe(true);
  });

  it("first counters differ between sessions and leave room to count", () => {
    const random = seededRandom(3);
    const firsts = Array.from({ length: 50 }, () => firstChatCounter(random));
    expect(new Set(firsts).size).toBe(50);
    for (const first of firsts) {
      expect(first).toBeGreaterThanOrEqual(1);
      expect(first).toBeLessThanOrEqual(2 ** 30);
    }
  });
});
