// The liveness proof (docs/key-schedule.md, Liveness hellos): a hello verifies only for the exact
// pair of announcements it was made for, under the pairwise key of the two current X25519 key
// pairs, so a recording from an earlier connection or an earlier life of the room proves nothing.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import { EnvelopeChannel } from "../../web/src/core/envelope.js";
import { checkHello, type HelloParties, isHello, makeHello } from "../../web/src/core/liveness.js";
import { refusalOf } from "../support/refusal.js";
import { seededRandom } from "./sim/seeded-random.js";

const random = seededRandom("liveness");
const ROOM = "roomroomroomroomroom00";
const ALICE = "aliceAliceAliceAlice00";
const BOB = "bobBobBobBobBobBobBob0";
const alice = generateCallKeyPairs(random);
const bob = generateCallKeyPairs(random);
const mallory = generateCallKeyPairs(random);
const aliceToBob = new EnvelopeChannel(
  ROOM,
  ALICE,
  alice.x25519.secretKey,
  BOB,
  bob.x25519.publicKey,
);
const bobFromAlice = new EnvelopeChannel(
  ROOM,
  BOB,
  bob.x25519.secretKey,
  ALICE,
  alice.x25519.publicKey,
);
const badMac = { format: "hello", code: "bad-mac" };
const parties: HelloParties = {
  roomId: ROOM,
  from: ALICE,
  to: BOB,
  fromAnnouncement: random(200),
  toAnnouncement: random(200),
};

describe("liveness hellos", () => {
  it("verify for the pair they were made for and carry the answer-me flag", () => {
    expect(aliceToBob.helloSendKey).toEqual(bobFromAlice.helloReceiveKey);
    expect(aliceToBob.helloSendKey).not.toEqual(aliceToBob.helloReceiveKey);
    for (const answerMe of [true, false]) {
      const hello = makeHello(parties, aliceToBob.helloSendKey, { answerMe });
      expect(isHello(hello)).toBe(true);
      expect(checkHello(parties, bobFromAlice.helloReceiveKey, hello)).toEqual({ answerMe });
    }
  });

  it("do not verify for the verifier's next connection (fresh announcement and key pair)", () => {
    const hello = makeHello(parties, aliceToBob.helloSendKey, { answerMe: false });
    const bobAgain = generateCallKeyPairs(random);
    const reconnected = new EnvelopeChannel(
      ROOM,
      BOB,
      bobAgain.x25519.secretKey,
      ALICE,
      alice.x25519.publicKey,
    );
    expect(refusalOf(() => checkHello(parties, reconnected.helloReceiveKey, hello))).toEqual(
      badMac,
    );
    const laterAnnouncement = { ...parties, toAnnouncement: random(200) };
    expect(
      refusalOf(() => checkHello(laterAnnouncement, bobFromAlice.helloReceiveKey, hello)),
    ).toEqual(badMac);
  });

  it("reject another sender's key, room, direction, sender announcement and any bit flip", () => {
    const hello = makeHello(parties, aliceToBob.helloSendKey, { answerMe: true });
    const malloryChannel = new EnvelopeChannel(
      ROOM,
      BOB,
      bob.x25519.secretKey,
      ALICE,
      mallory.x25519.publicKey,
    );
    const variants: [HelloParties, Uint8Array][] = [
      [{ ...parties, roomId: "otherotherotherother00" }, bobFromAlice.helloReceiveKey],
      [{ ...parties, from: BOB, to: ALICE }, bobFromAlice.helloReceiveKey],
      [{ ...parties, fromAnnouncement: random(200) }, bobFromAlice.helloReceiveKey],
      [parties, malloryChannel.helloReceiveKey],
      [parties, bobFromAlice.helloSendKey],
    ];
    for (const [claimed, key] of variants) {
      expect(refusalOf(() => checkHello(claimed, key, hello))).toEqual(badMac);
    }
    fc.assert(
      fc.property(fc.nat(hello.length * 8 - 1), (bit) => {
        const flipped = hello.slice();
        flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        // Byte 0 is the tag, byte 1 the flags (bit 0 defined and MAC'd), then the MAC.
        const code = bit < 8 ? "bad-kind" : bit < 16 && bit !== 8 ? "bad-flags" : "bad-mac";
        expect(refusalOf(() => checkHello(parties, bobFromAlice.helloReceiveKey, flipped))).toEqual(
          { format: "hello", code },
        );
      }),
      { numRuns: 60 },
    );
  });

  it("reject impossible sizes and are told apart from envelopes", () => {
    const hello = makeHello(parties, aliceToBob.helloSendKey, { answerMe: true });
    const sizes: [Uint8Array, string][] = [
      [hello.subarray(0, 33), "bad-length"],
      [new Uint8Array([...hello, 0]), "bad-length"],
      [new Uint8Array(), "bad-kind"],
    ];
    for (const [bytes, code] of sizes) {
      expect(refusalOf(() => checkHello(parties, bobFromAlice.helloReceiveKey, bytes))).toEqual({
        format: "hello",
        code,
      });
    }
    expect(isHello(new Uint8Array([1, 0, 0]))).toBe(false); // envelope version 1
  });
});
