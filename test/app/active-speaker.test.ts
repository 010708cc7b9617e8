// Who the speaker layout features (web/src/app/activeSpeaker.ts).
import { describe, expect, it } from "vitest";
import { featuredTile, type SpeakerCandidate } from "../../web/src/app/activeSpeaker";

function tile(key: string, extra: Partial<SpeakerCandidate> = {}): SpeakerCandidate {
  return {
    key,
    self: false,
    screen: false,
    speaking: false,
    crypto: { kind: "encrypted", epoch: 1 },
    ...extra,
  };
}

const me = tile("me", { self: true, crypto: { kind: "sending", epoch: 1 } });

describe("the featured tile", () => {
  it("is a screen share before anyone speaking", () => {
    const tiles = [
      me,
      tile("a", { speaking: true }),
      tile("b"),
      tile("b:screen", { screen: true }),
    ];
    expect(featuredTile(tiles, "a")).toBe("b:screen");
  });

  it("is someone else speaking, not ourselves, and stays on them while they speak", () => {
    const tiles = [
      { ...me, speaking: true },
      tile("a", { speaking: true }),
      tile("b", { speaking: true }),
    ];
    expect(featuredTile(tiles, undefined)).toBe("a");
    expect(featuredTile(tiles, "b")).toBe("b");
  });

  it("stays on the last speaker through a pause, and moves to the next one who speaks", () => {
    expect(featuredTile([me, tile("a"), tile("b")], "b")).toBe("b");
    expect(featuredTile([me, tile("a", { speaking: true }), tile("b")], "b")).toBe("a");
  });

  it("never an intruder while a member is there; ourselves only when alone", () => {
    const intruder = tile("x", { speaking: true, crypto: { kind: "intruder" } });
    expect(featuredTile([me, intruder, tile("a")], undefined)).toBe("a");
    expect(featuredTile([me], undefined)).toBe("me");
    expect(featuredTile([me, tile("a")], "me")).toBe("a");
    expect(featuredTile([], "a")).toBeUndefined();
  });
});
