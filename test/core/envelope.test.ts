// Property tests for envelopes (docs/key-schedule.md, Envelopes): round trip; any bit flip, wrong
// key, wrong recipient, wrong room, replay or older epoch is rejected with its reason code, and a
// rejection leaves the channel's replay state as it was; inputs are never mutated.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import { EnvelopeChannel } from "../../web/src/core/envelope.js";
import { refusalOf } from "../support/refusal.js";
import { seededRandom } from "./sim/seeded-random.js";

const random = seededRandom("envelope");
const ROOM = "roomroomroomroomroom00";
const OTHER_ROOM = "roomroomroomroomroom11";
const A = "aaaaaaaaaaaaaaaaaaaaaa";
const B = "bbbbbbbbbbbbbbbbbbbbbb";
const C = "cccccccccccccccccccccc";
const a = generateCallKeyPairs(random);
const b = generateCallKeyPairs(random);
const c = generateCallKeyPairs(random);

function pair(room = ROOM) {
  return {
    ab: new EnvelopeChannel(room, A, a.x25519.secretKey, B, b.x25519.publicKey),
    ba: new EnvelopeChannel(room, B, b.x25519.secretKey, A, a.x25519.publicKey),
  };
}

const plaintext = fc.uint8Array({ minLength: 0, maxLength: 2_000 });
const epoch = fc.integer({ min: 1, max: 0xffffffff });

describe("envelopes", () => {
  it("round-trip epoch and plaintext without mutating inputs", () => {
    const { ab, ba } = pair();
    let highest = 0;
    fc.assert(
      fc.property(plaintext, epoch, (message, raw) => {
        // One channel for all runs: epochs must not go down on it, so keep them non-decreasing.
        const e = Math.max(raw, highest);
        highest = e;
        const copy = message.slice();
        const sealed = ab.seal(e, message, random);
        const sealedCopy = sealed.slice();
        const opened = ba.open(sealed);
        expect(opened.plaintext).toEqual(message);
        expect(opened.epoch).toBe(e);
        expect(message).toEqual(copy);
        expect(sealed).toEqual(sealedCopy);
      }),
      { numRuns: 50 },
    );
  });

  it("reject any bit flip, and the channel still accepts the genuine envelope afterwards", () => {
    const { ab, ba } = pair();
    fc.assert(
      fc.property(plaintext, fc.nat(), (message, bitSeed) => {
        const sealed = ab.seal(3, message, random);
        const bit = bitSeed % (sealed.length * 8);
        const tampered = sealed.slice();
        tampered[bit >> 3] = (tampered[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        // The version byte is checked first; everything else is bound by the AEAD tag.
        expect(refusalOf(() => ba.open(tampered))).toEqual({
          format: "envelope",
          code: bit < 8 ? "bad-version" : "bad-tag",
        });
        expect(ba.open(sealed).plaintext).toEqual(message);
      }),
      { numRuns: 200 },
    );
  });

  it("reject the wrong recipient, the wrong room and the wrong key", () => {
    const { ab } = pair();
    const sealed = ab.seal(1, new Uint8Array([1, 2, 3]), random);
    // C is not the recipient (and cannot be, whatever it claims).
    const ca = new EnvelopeChannel(ROOM, C, c.x25519.secretKey, A, a.x25519.publicKey);
    const badTag = { format: "envelope", code: "bad-tag" };
    expect(refusalOf(() => ca.open(sealed))).toEqual(badTag);
    // B in another room.
    expect(refusalOf(() => pair(OTHER_ROOM).ba.open(sealed))).toEqual(badTag);
    // B expecting A, but with C's key in A's place (a swapped announcement).
    const swapped = new EnvelopeChannel(ROOM, B, b.x25519.secretKey, A, c.x25519.publicKey);
    expect(refusalOf(() => swapped.open(sealed))).toEqual(badTag);
    // A channel in the other direction cannot open its own envelope (direction is bound).
    expect(refusalOf(() => ab.open(sealed))).toEqual(badTag);
  });

  it("reject replays and older epochs; gaps from dropped envelopes are fine", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 2, maxLength: 12 }),
        (epochs) => {
          const { ab, ba } = pair();
          const sealed = epochs.map((e) => ab.seal(e, new Uint8Array([e]), random));
          let highest = 0;
          for (const [i, envelope] of sealed.entries()) {
            if (i % 3 === 1) continue; // dropped by the relay
            const e = epochs[i] ?? 0;
            if (e < highest) {
              expect(() => ba.open(envelope)).toThrow(/older epoch/);
              expect(refusalOf(() => ba.open(envelope)).code).toBe("older-epoch");
            } else {
              expect(ba.open(envelope).epoch).toBe(e);
              highest = e;
              expect(() => ba.open(envelope)).toThrow(/replayed/);
              expect(refusalOf(() => ba.open(envelope)).code).toBe("replayed");
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("refuse to seal an envelope over the payload limit", () => {
    const { ab } = pair();
    expect(refusalOf(() => ab.seal(1, new Uint8Array(64 * 1024), random))).toEqual({
      format: "envelope",
      code: "bad-length",
    });
  });

  it("reject junk of any size", () => {
    const { ba } = pair();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (junk) => {
        // Header and tag take 49 bytes; then the version byte, then the tag.
        const code = junk.length < 49 ? "bad-length" : junk[0] !== 1 ? "bad-version" : "bad-tag";
        expect(refusalOf(() => ba.open(junk))).toEqual({ format: "envelope", code });
      }),
      { numRuns: 100 },
    );
  });
});
