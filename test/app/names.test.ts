// Names as the call screen shows them (web/src/app/names.ts): two members with one name are told
// apart by a tag from their participant ids, the same on every screen; a name used once is shown
// as it is.
import { describe, expect, it } from "vitest";
import { distinctTags, nameLabels } from "../../web/src/app/names";
import { toBase64url } from "../../web/src/core";
import { sha256 } from "@noble/hashes/sha2.js";

/** The first `n` characters of the hash a tag is cut from. */
const tagOf = (id: string, n = 4) => toBase64url(sha256(new TextEncoder().encode(id))).slice(0, n);

const ALICE = "AliceAliceAliceAlice00";
const MALLORY = "MallMallMallMallMall00";
const BOB = "BobBobBobBobBobBobBo00";

describe("name labels", () => {
  it("shows a name used once as it is", () => {
    const labels = nameLabels([
      { participantId: ALICE, displayName: "Alice" },
      { participantId: BOB, displayName: "Bob" },
    ]);
    expect(labels.get(ALICE)).toBe("Alice");
    expect(labels.get(BOB)).toBe("Bob");
  });

  it("tags both members who share a name, whatever the case, width or spacing", () => {
    for (const copy of ["Alice", "alice", "ALICE ", "Ａｌｉｃｅ", "  Alice"]) {
      const labels = nameLabels([
        { participantId: ALICE, displayName: "Alice" },
        { participantId: MALLORY, displayName: copy },
        { participantId: BOB, displayName: "Bob" },
      ]);
      expect(labels.get(ALICE)).toBe(`Alice ·${tagOf(ALICE)}`);
      expect(labels.get(MALLORY)).toBe(`${copy} ·${tagOf(MALLORY)}`);
      expect(labels.get(BOB)).toBe("Bob");
    }
  });

  it("keeps the tags after the impostor left: its chat lines still count", () => {
    // The roster has only Alice now; the chat still has Mallory's line under "Alice".
    const labels = nameLabels([
      { participantId: ALICE, displayName: "Alice" },
      { participantId: MALLORY, displayName: "Alice" },
      { participantId: ALICE, displayName: "Alice" },
    ]);
    expect(labels.get(ALICE)).toBe(`Alice ·${tagOf(ALICE)}`);
    expect(labels.get(MALLORY)).toBe(`Alice ·${tagOf(MALLORY)}`);
  });

  it("one member seen twice (roster and chat) is not a collision", () => {
    const labels = nameLabels([
      { participantId: ALICE, displayName: "Alice" },
      { participantId: ALICE, displayName: "Alice" },
    ]);
    expect(labels.get(ALICE)).toBe("Alice");
  });

  it("an impostor that ground an id whose tag starts like its target's still gets another label", () => {
    // Grinding for a 4-character match takes millions of tries; the same rule from 1 character
    // shows the tags grow until they differ.
    let impostor = "";
    for (let i = 0; i < 10_000 && impostor === ""; i++) {
      const id = `${i}`.padStart(22, "x");
      if (tagOf(id, 1) === tagOf(ALICE, 1)) impostor = id;
    }
    expect(impostor).not.toBe("");
    const tags = distinctTags([ALICE, impostor], 1);
    expect(tags.get(ALICE)).not.toBe(tags.get(impostor));
    expect(tags.get(ALICE)?.length).toBeGreaterThan(1);
    expect(tags.get(ALICE)?.startsWith(tagOf(ALICE, 1))).toBe(true);
  });
});
