// Red-team tests of the labels the call screen shows (web/src/app/names.ts). Each test is an
// attack that asserts the SECURE behaviour: a failing test is a member (anyone with the link, who
// picks its own display name and participant id, and may bring more members) whose label reads
// the same as another member's.
import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { labelChat, nameLabels } from "../../web/src/app/names";
import { type ChatEntry, toBase64url } from "../../web/src/core";

/** The first `n` characters of the hash a tag is cut from. */
const tagOf = (id: string, n = 4) => toBase64url(sha256(new TextEncoder().encode(id))).slice(0, n);

const ALICE = "AliceAliceAliceAlice00";
const MALLORY = "MallMallMallMallMall00";
const PUPPET = "PuppPuppPuppPuppPupp00";
const BOB = "BobBobBobBobBobBobBo00";

/** What a reader sees: characters that render as nothing are gone, case and width folded. */
function asSeen(label: string): string {
  return label
    .replace(/[\p{Default_Ignorable_Code_Point}\p{Cf}]/gu, "")
    .normalize("NFKC")
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim();
}

describe("name labels red team", () => {
  it("an impostor cannot take a label by adding characters that render as nothing", () => {
    for (const invisible of [
      "\u200b", // zero width space
      "\u200d", // zero width joiner
      "\u2060", // word joiner
      "\u00ad", // soft hyphen
      "\ufe0f", // variation selector 16
      "\u034f", // combining grapheme joiner
      "\u3164", // Hangul filler
      "\u{e0041}", // tag letter A
    ]) {
      const labels = nameLabels([
        { participantId: ALICE, displayName: "Alice" },
        { participantId: MALLORY, displayName: `Al${invisible}ice` },
        { participantId: BOB, displayName: "Bob" },
      ]);
      const alice = labels.get(ALICE) ?? "";
      const mallory = labels.get(MALLORY) ?? "";
      expect(asSeen(mallory), JSON.stringify(invisible)).not.toBe(asSeen(alice));
    }
  });

  it("an impostor cannot take a tagged member's label by choosing a name that ends in its tag", () => {
    // A second member named "Alice" makes Alice's label "Alice ·<tag>"; Mallory picks that label,
    // tag included, as its display name.
    const labels = nameLabels([
      { participantId: ALICE, displayName: "Alice" },
      { participantId: PUPPET, displayName: "Alice" },
      { participantId: MALLORY, displayName: `Alice ·${tagOf(ALICE)}` },
    ]);
    expect(labels.get(ALICE)).toBe(`Alice ·${tagOf(ALICE)}`);
    expect(new Set([...labels.values()].map(asSeen)).size).toBe(3);
    // And so in the chat: Mallory's line does not read as Alice's.
    const entry = (from: string, displayName: string): ChatEntry => ({
      id: `${from}/1`,
      from,
      displayName,
      self: false,
      lamport: 1,
      counter: 1,
      at: 0,
      state: "shown",
      text: "send the code to me",
    });
    const [fromAlice, fromMallory] = labelChat(
      [entry(ALICE, "Alice"), entry(MALLORY, `Alice ·${tagOf(ALICE)}`)],
      labels,
    );
    expect(asSeen(fromMallory?.displayName ?? "")).not.toBe(asSeen(fromAlice?.displayName ?? ""));
  });

  it("an impostor cannot take a label with a bidi override that reverses its name on screen", () => {
    // U+202E RIGHT-TO-LEFT OVERRIDE: "ecilA" renders as "Alice", inside a <bdi> too.
    const labels = nameLabels([
      { participantId: ALICE, displayName: "Alice" },
      { participantId: MALLORY, displayName: "\u202eecilA" },
    ]);
    const mallory = labels.get(MALLORY) ?? "";
    const overridden = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u.test(mallory);
    const tagged = labels.get(ALICE) !== "Alice";
    expect(overridden && !tagged).toBe(false);
  });
});
