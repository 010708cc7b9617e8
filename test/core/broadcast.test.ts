// Leader broadcasts (docs/key-schedule.md, Broadcasts): signed with the leader's Ed25519 key over
// room and leader id, so any bit flip, another signer, another room or another claimed leader is
// rejected with a bad signature; behind a valid signature, each layout fault has its own code.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ed25519 } from "@noble/curves/ed25519.js";
import { signBroadcast, verifyBroadcast } from "../../web/src/core/broadcast.js";
import { generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import { refusalOf } from "../support/refusal.js";
import { seededRandom } from "./sim/seeded-random.js";

const random = seededRandom("broadcast");
const ROOM = "roomroomroomroomroom00";
const LEADER = "leaderleaderleaderlead";
const leader = generateCallKeyPairs(random);
const other = generateCallKeyPairs(random);
const badSignature = { format: "broadcast", code: "bad-signature" };

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
        const refusal = refusalOf(() =>
          verifyBroadcast(ROOM, LEADER, leader.ed25519.publicKey, tampered),
        );
        // A flip in the signature fails the check; one in the body may make it unreadable first.
        if (bit >= (signed.length - 64) * 8) expect(refusal).toEqual(badSignature);
        else expect(refusal.format).toBe("broadcast");
        expect(
          refusalOf(() => verifyBroadcast(ROOM, LEADER, other.ed25519.publicKey, signed)),
        ).toEqual(badSignature);
        expect(
          refusalOf(() =>
            verifyBroadcast("roomroomroomroomroom11", LEADER, leader.ed25519.publicKey, signed),
          ),
        ).toEqual(badSignature);
        expect(
          refusalOf(() =>
            verifyBroadcast(ROOM, "impostorimpostorimpost", leader.ed25519.publicKey, signed),
          ),
        ).toEqual(badSignature);
      }),
      { numRuns: 30 },
    );
  });

  it("behind a valid signature, name the layout fault", () => {
    const genuine = signBroadcast(ROOM, LEADER, leader.ed25519.secretKey, {
      kind: "commit",
      epoch: 5,
      chainStart: 5,
      leaderSeq: 1,
      keyCheck: random(16),
    });
    const encoded = genuine.slice(0, genuine.length - 64);
    // Signs a changed body as the leader itself could: the prefix of docs/key-schedule.md.
    const resign = (changed: Uint8Array) => {
      const prefix = new TextEncoder().encode(`hush/v1 broadcast\0${ROOM}\0${LEADER}\0`);
      const signature = ed25519.sign(
        new Uint8Array([...prefix, ...changed]),
        leader.ed25519.secretKey,
      );
      return new Uint8Array([...changed, ...signature]);
    };
    const withByte = (index: number, value: number) => {
      const changed = encoded.slice();
      changed[index] = value;
      return resign(changed);
    };
    const inconsistent = signBroadcast(ROOM, LEADER, leader.ed25519.secretKey, {
      kind: "ratchet",
      epoch: 4,
      chainStart: 5,
      leaderSeq: 1,
      keyCheck: random(16),
    });
    const cases: [Uint8Array, string][] = [
      [withByte(0, 2), "bad-version"],
      [withByte(1, 3), "bad-kind"],
      [resign(new Uint8Array([...encoded, 0])), "bad-length"],
      [resign(encoded.slice(0, 20)), "bad-length"],
      [inconsistent, "bad-epochs"],
      [genuine.slice(0, 64), "bad-length"],
    ];
    for (const [bytes, code] of cases) {
      expect(
        refusalOf(() => verifyBroadcast(ROOM, LEADER, leader.ed25519.publicKey, bytes)),
      ).toEqual({ format: "broadcast", code });
    }
  });
});
