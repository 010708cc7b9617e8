// Chat messages (docs/chat.md, The message): signed by the sender over room and sender id, sealed
// under K_chat of one epoch with the same binding in the AAD. A bit flip, another signer, another
// room or another claimed sender is a bad signature; a member that re-signs someone's ciphertext
// as its own, or seals under someone else's id, still fails; sizes are refused before any curve
// operation; what opens is padded to 64-byte steps and parsed strictly.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { concat, u32be, utf8 } from "../../web/src/core/bytes.js";
import { generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import {
  CHAT_MESSAGE_MAX_BYTES,
  type ChatBody,
  openChat,
  REACTIONS,
  sealChat,
  verifyChat,
} from "../../web/src/core/chat-message.js";
import { createCurveOps } from "../../web/src/core/curve-ops.js";
import { chatKeyOf } from "../../web/src/core/identifiers.js";
import { refusalOf } from "../support/refusal.js";
import { seededRandom } from "./sim/seeded-random.js";

const random = seededRandom("chat");
const ROOM = "roomroomroomroomroom00";
const ALICE = "aliceAliceAliceAlice00";
const BOB = "bobBobBobBobBobBobBob0";
const alice = generateCallKeyPairs(random);
const bob = generateCallKeyPairs(random);
const groupKey = random(32);
const parties = { roomId: ROOM, senderId: ALICE };

const bodies: fc.Arbitrary<ChatBody> = fc.oneof(
  fc
    .string({ minLength: 1, maxLength: 2000, unit: "grapheme" })
    .map((text) => ({ type: "text" as const, text })),
  fc.constantFrom(...REACTIONS).map((emoji) => ({ type: "reaction" as const, emoji })),
  fc.boolean().map((up) => ({ type: "hand" as const, up })),
);
const headers = fc.record({
  epoch: fc.integer({ min: 1, max: 0xffffffff }),
  lamport: fc.integer({ min: 0, max: 0xffffffff }),
  counter: fc.integer({ min: 1, max: 0xffffffff }),
});

function seal(body: ChatBody, header = { epoch: 7, lamport: 3, counter: 1 }): Uint8Array {
  return sealChat(parties, alice.ed25519.secretKey, groupKey, header, body, random);
}

/** The layout written out by hand, so a test can sign a body the sealer would never produce. */
function handMade(
  plaintext: Uint8Array,
  header = { epoch: 7, lamport: 3, counter: 1 },
): Uint8Array {
  const prefix = utf8(`hush/v1 chat message\0${ROOM}\0${ALICE}\0`);
  const head = concat(
    new Uint8Array([0x43, 1]),
    u32be(header.epoch),
    u32be(header.lamport),
    u32be(header.counter),
    random(24),
  );
  const sealed = xchacha20poly1305(
    chatKeyOf(groupKey),
    head.subarray(14),
    concat(prefix, head),
  ).encrypt(plaintext);
  const signed = concat(head, sealed);
  return concat(signed, ed25519.sign(concat(prefix, signed), alice.ed25519.secretKey));
}

function padded(json: string, length = 64): Uint8Array {
  const bytes = utf8(json);
  const out = new Uint8Array(length);
  out.set([bytes.length >> 8, bytes.length & 0xff]);
  out.set(bytes, 2);
  return out;
}

describe("chat messages", () => {
  it("round-trip every body and header, padded to 64-byte steps", () => {
    fc.assert(
      fc.property(bodies, headers, (body, header) => {
        const bytes = seal(body, header);
        expect((bytes.length - 38 - 16 - 64) % 64).toBe(0);
        const signed = verifyChat(parties, alice.ed25519.publicKey, bytes);
        expect({ epoch: signed.epoch, lamport: signed.lamport, counter: signed.counter }).toEqual(
          header,
        );
        expect(openChat(parties, groupKey, signed)).toEqual(body);
      }),
      { numRuns: 40 },
    );
  });

  it("match the layout written out by hand (a second implementation)", () => {
    const bytes = handMade(padded('{"type":"hand","up":true}'));
    const signed = verifyChat(parties, alice.ed25519.publicKey, bytes);
    expect(openChat(parties, groupKey, signed)).toEqual({ type: "hand", up: true });
  });

  it("refuse bit flips, another signer, another room and another sender id as a bad signature", () => {
    fc.assert(
      fc.property(bodies, fc.nat(), (body, bitSeed) => {
        const bytes = seal(body);
        const bit = bitSeed % (bytes.length * 8);
        const tampered = bytes.slice();
        tampered[bit >> 3] = (tampered[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        const bad = { format: "chat", code: "bad-signature" };
        expect(refusalOf(() => verifyChat(parties, alice.ed25519.publicKey, tampered))).toEqual(
          bad,
        );
        expect(refusalOf(() => verifyChat(parties, bob.ed25519.publicKey, bytes))).toEqual(bad);
        expect(
          refusalOf(() =>
            verifyChat(
              { roomId: "roomroomroomroomroom11", senderId: ALICE },
              alice.ed25519.publicKey,
              bytes,
            ),
          ),
        ).toEqual(bad);
        expect(
          refusalOf(() =>
            verifyChat({ roomId: ROOM, senderId: BOB }, alice.ed25519.publicKey, bytes),
          ),
        ).toEqual(bad);
      }),
      { numRuns: 20 },
    );
  });

  it("cannot be claimed by another member who holds the epoch key", () => {
    const bytes = seal({ type: "text", text: "from alice" });
    // Bob strips Alice's signature and signs her ciphertext as his own: it verifies as Bob's, but
    // the AAD names Alice, so it does not open as his.
    const signed = bytes.subarray(0, bytes.length - 64);
    const bobPrefix = utf8(`hush/v1 chat message\0${ROOM}\0${BOB}\0`);
    const claimed = concat(signed, ed25519.sign(concat(bobPrefix, signed), bob.ed25519.secretKey));
    const asBob = { roomId: ROOM, senderId: BOB };
    const verified = verifyChat(asBob, bob.ed25519.publicKey, claimed);
    expect(refusalOf(() => openChat(asBob, groupKey, verified))).toEqual({
      format: "chat",
      code: "bad-tag",
    });
    // Bob seals under Alice's id with the shared key: only Alice's signing key makes it verify.
    const forged = sealChat(
      parties,
      bob.ed25519.secretKey,
      groupKey,
      { epoch: 7, lamport: 3, counter: 1 },
      { type: "text", text: "I am alice" },
      random,
    );
    expect(refusalOf(() => verifyChat(parties, alice.ed25519.publicKey, forged))).toEqual({
      format: "chat",
      code: "bad-signature",
    });
  });

  it("refuse an impossible size before any curve operation", () => {
    const ops = createCurveOps();
    for (const size of [0, 1, 38 + 64 + 16 + 63, CHAT_MESSAGE_MAX_BYTES + 1, 70_000]) {
      const bytes = new Uint8Array(size);
      if (size > 0) bytes[0] = 0x43;
      expect(refusalOf(() => verifyChat(parties, alice.ed25519.publicKey, bytes, ops))).toEqual({
        format: "chat",
        code: "bad-length",
      });
    }
    expect(ops.ed25519Verifies).toBe(0);
  });

  it("does not open under another epoch's key", () => {
    const signed = verifyChat(parties, alice.ed25519.publicKey, seal({ type: "hand", up: false }));
    expect(refusalOf(() => openChat(parties, random(32), signed))).toEqual({
      format: "chat",
      code: "bad-tag",
    });
  });

  it("refuse, behind a valid signature, bodies outside the schema and bad padding", () => {
    const cases: [Uint8Array, string][] = [
      [padded('{"type":"text","text":""}'), "bad-body"],
      [padded('{"type":"reaction","emoji":"x"}'), "bad-body"],
      [padded('{"type":"hand","up":true,"extra":1}'), "bad-body"],
      [padded('{"type":"file","url":"x"}'), "bad-body"],
      [padded("not json"), "bad-body"],
      [padded('{"type":"hand","up":true}', 127), "bad-length"],
      [
        concat(padded('{"type":"hand","up":true}').subarray(0, 63), new Uint8Array([1])),
        "bad-length",
      ],
      [new Uint8Array([0xff, 0xff, ...new Uint8Array(62)]), "bad-length"],
    ];
    for (const [plaintext, code] of cases) {
      const signed = verifyChat(parties, alice.ed25519.publicKey, handMade(plaintext));
      expect(refusalOf(() => openChat(parties, groupKey, signed))).toEqual({
        format: "chat",
        code,
      });
    }
    expect(() => seal({ type: "text", text: "x".repeat(2001) })).toThrow();
  });
});
