// The key messages' plaintext: holders written as runs (version 2), a version-1 list still read,
// and every bound checked before a run is expanded.
import { describe, expect, it } from "vitest";
import { utf8 } from "../../web/src/core/bytes";
import { holderRunsOf, seqsOfRuns } from "../../web/src/core/holder-runs";
import { decodeKeyMessage, encodeKeyMessage } from "../../web/src/core/key-messages";

const GROUP_KEY = new Uint8Array(32).fill(7);
const KEY_TEXT = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc";

function freshKey(holders: readonly number[]) {
  return {
    type: "key" as const,
    epoch: 12,
    groupKey: GROUP_KEY,
    kind: "fresh" as const,
    chainStart: 12,
    leaderSeq: 1,
    holders,
  };
}

function wire(fields: Record<string, unknown>): Uint8Array {
  return utf8(
    JSON.stringify({
      v: 2,
      type: "key",
      epoch: 12,
      groupKey: KEY_TEXT,
      kind: "fresh",
      chainStart: 12,
      leaderSeq: 1,
      ...fields,
    }),
  );
}

describe("holders as runs", () => {
  it("writes ascending seqs with runs of three or more as pairs", () => {
    expect(holderRunsOf([9, 1, 2, 3, 5, 6, 8, 10, 11, 12, 3])).toEqual([[1, 3], 5, 6, [8, 12]]);
    expect(holderRunsOf([])).toEqual([]);
    expect(holderRunsOf([4])).toEqual([4]);
  });

  it("round-trips any set of seqs", () => {
    const cases = [
      [],
      [0],
      [0xffffffff],
      [0xfffffffd, 0xfffffffe, 0xffffffff],
      Array.from({ length: 1000 }, (_, index) => index * 2),
      Array.from({ length: 1000 }, (_, index) => index + 17),
    ];
    for (const seqs of cases) {
      const decoded = decodeKeyMessage(encodeKeyMessage(freshKey(seqs)));
      expect(decoded.type === "key" && decoded.holders).toEqual(seqs);
    }
  });

  it("keeps a 200-member fresh key short: the message is sealed once per recipient", () => {
    // Seqs 1..220 with twenty leavers' holes: what a churning call of 200 looks like.
    const holes = new Set(Array.from({ length: 20 }, (_, index) => 5 + index * 11));
    const seqs = Array.from({ length: 220 }, (_, index) => index + 1).filter((s) => !holes.has(s));
    const runs = encodeKeyMessage(freshKey(seqs)).length;
    const plain = JSON.stringify(seqs).length;
    expect(runs).toBeLessThan(400);
    expect(plain).toBeGreaterThan(700);
  });

  it("reads a version-1 message's plain list, in any order", () => {
    const decoded = decodeKeyMessage(wire({ v: 1, holders: [5, 2, 9, 2] }));
    expect(decoded.type === "key" && decoded.holders).toEqual([5, 2, 9, 2]);
    const ack = decodeKeyMessage(utf8(JSON.stringify({ v: 1, type: "ack", epoch: 3, have: 2 })));
    expect(ack).toEqual({ type: "ack", epoch: 3, have: 2 });
  });

  it("refuses a run standing for more than 1,000 seqs before expanding it", () => {
    expect(() => decodeKeyMessage(wire({ holders: [[0, 0xffffffff]] }))).toThrow(/1000 holders/);
    expect(() =>
      decodeKeyMessage(
        wire({
          holders: [
            [1, 500],
            [1000, 1500],
          ],
        }),
      ),
    ).toThrow(/1000 holders/);
    expect(
      decodeKeyMessage(
        wire({
          holders: [
            [1, 500],
            [1000, 1499],
          ],
        }),
      ).type,
    ).toBe("key");
  });

  it("refuses malformed runs and unknown versions", () => {
    const bad = [
      { holders: [[5, 5]] },
      { holders: [[6, 5]] },
      { holders: [[1, 2, 3]] },
      { holders: [[1]] },
      { holders: [-1] },
      { holders: [1.5] },
      { holders: [[0, 0x100000000]] },
      { holders: Array.from({ length: 1001 }, (_, index) => index) },
      { holders: "1-200" },
      { v: 3, holders: [1] },
    ];
    for (const fields of bad) expect(() => decodeKeyMessage(wire(fields))).toThrow();
  });

  it("expands what it read into exactly the seqs written", () => {
    expect(seqsOfRuns([[3, 6], 9, [11, 12]])).toEqual([3, 4, 5, 6, 9, 11, 12]);
  });
});
