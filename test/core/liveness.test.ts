// The liveness proof (DESIGN §3): a hello verifies only for the exact pair of announcements it was
// made for, so a recording from an earlier connection or an earlier life of the room proves nothing.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import {
  HelloError,
  isHello,
  signHello,
  verifyHello,
  type HelloParties,
} from "../../web/src/core/liveness.js";
import { seededRandom } from "./sim/seeded-random.js";

const random = seededRandom("liveness");
const ROOM = "roomroomroomroomroom00";
const ALICE = "aliceAliceAliceAlice00";
const BOB = "bobBobBobBobBobBobBob0";
const alice = generateCallKeyPairs(random);
const mallory = generateCallKeyPairs(random);
const parties: HelloParties = {
  roomId: ROOM,
  from: ALICE,
  to: BOB,
  fromAnnouncement: random(200),
  toAnnouncement: random(200),
};

describe("liveness hellos", () => {
  it("verify for the pair they were made for and carry the answer-me flag", () => {
    for (const answerMe of [true, false]) {
      const hello = signHello(parties, alice.ed25519.secretKey, { answerMe });
      expect(isHello(hello)).toBe(true);
      expect(verifyHello(parties, alice.ed25519.publicKey, hello)).toEqual({ answerMe });
    }
  });

  it("do not verify for the verifier's next announcement (a recording from an earlier connection)", () => {
    const hello = signHello(parties, alice.ed25519.secretKey, { answerMe: false });
    const reconnected = { ...parties, toAnnouncement: random(200) };
    expect(() => verifyHello(reconnected, alice.ed25519.publicKey, hello)).toThrow(HelloError);
  });

  it("reject another signer, room, direction, sender announcement and any bit flip", () => {
    const hello = signHello(parties, alice.ed25519.secretKey, { answerMe: true });
    const variants: [HelloParties, Uint8Array][] = [
      [{ ...parties, roomId: "otherotherotherother00" }, alice.ed25519.publicKey],
      [{ ...parties, from: BOB, to: ALICE }, alice.ed25519.publicKey],
      [{ ...parties, fromAnnouncement: random(200) }, alice.ed25519.publicKey],
      [parties, mallory.ed25519.publicKey],
    ];
    for (const [claimed, key] of variants) {
      expect(() => verifyHello(claimed, key, hello)).toThrow(HelloError);
    }
    fc.assert(
      fc.property(fc.nat(hello.length * 8 - 1), (bit) => {
        const flipped = hello.slice();
        flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        expect(() => verifyHello(parties, alice.ed25519.publicKey, flipped)).toThrow(HelloError);
      }),
      { numRuns: 60 },
    );
  });

  it("reject impossible sizes and are told apart from envelopes", () => {
    const hello = signHello(parties, alice.ed25519.secretKey, { answerMe: true });
    for (const bytes of [hello.subarray(0, 65), new Uint8Array([...hello, 0]), new Uint8Array()]) {
      expect(() => verifyHello(parties, alice.ed25519.publicKey, bytes)).toThrow(HelloError);
    }
    expect(isHello(new Uint8Array([1, 0, 0]))).toBe(false); // envelope version 1
  });
});
