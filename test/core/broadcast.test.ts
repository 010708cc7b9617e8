// Leader broadcasts (docs/key-schedule.md, Broadcasts): signed with the leader's Ed25519 key over
// room and leader id, so any bit flip, another signer, another room or another claimed leader is
// rejected.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BroadcastError, signBroadcast, verifyBroadcast } from "../../web/src/core/broadcast.js";
import { generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import { seededRandom } from "./sim/seeded-random.js";

const random = seededRandom("broadcast");
const ROOM = "roomroomroomroomroom00";
const LEADER = "leaderleaderleaderlead";
const leader = generateCallKeyPairs(random);
const other = generateCallKeyPairs(random);

const body = fc
  .record({
    kind: fc.constantFrom("ratchet" as const, "commit" as const),
    epoch: fc.integer({ min: 1, max: 0xffffffff }),
    leaderSeq: fc.integer({ min: 0, max: 0xffffffff }),
    keyCheck: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  })
  .map((b) => ({ ...b, chainStart: Math.max(1, b.epoch - 3) }));

describe("broadcasts", () => {
  it("round-trip without mutating inputs", () => {
    fc.assert(
      fc.property(body, (b) => {
        const keyCheck = b.keyCheck.slice();
        const signed = signBroadcast(ROOM, LEADER, leader.ed25519.secretKey, b);
        expect(verifyBroadcast(ROOM, LEADER, leader.ed25519.publicKey, signed)).toEqual(b);
        expect(b.keyCheck).toEqual(keyCheck);
      }),
      { numRuns: 30 },
    );
  });

  it("reject bit flips, another signer, another room and another leader id", () => {
    fc.assert(
      fc.property(body, fc.nat(), (b, bitSeed) => {
        const signed = signBroadcast(ROOM, LEADER, leader.ed25519.secretKey, b);
        const bit = bitSeed % (signed.length * 8);
        const tampered = signed.slice();
        tampered[bit >> 3] = (tampered[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        expect(() => verifyBroadcast(ROOM, LEADER, leader.ed25519.publicKey, tampered)).toThrow(
          BroadcastError,
        );
        expect(() => verifyBroadcast(ROOM, LEADER, other.ed25519.publicKey, signed)).toThrow(
          BroadcastError,
        );
        expect(() =>
          verifyBroadcast("roomroomroomroomroom11", LEADER, leader.ed25519.publicKey, signed),
        ).toThrow(BroadcastError);
        expect(() =>
          verifyBroadcast(ROOM, "impostorimpostorimpost", leader.ed25519.publicKey, signed),
        ).toThrow(BroadcastError);
      }),
      { numRuns: 30 },
    );
  });
});
