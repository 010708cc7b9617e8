// Property tests for announcements (docs/key-schedule.md, Announcements): round trip; any bit flip,
// truncation, wrong room (another call's secret), wrong participant or wrong key is rejected with
// its reason code; inputs are never mutated.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { createAnnouncement, verifyAnnouncement } from "../../web/src/core/announcement.js";
import { callContextOf, generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import { type CallSecret, participantIdOf } from "../../web/src/core/identifiers.js";
import { refusalOf } from "../support/refusal.js";
import * as node from "../vectors/node-formats.js";
import { seededRandom } from "./sim/seeded-random.js";

const random = seededRandom("announcement");
const secret = random(32) as CallSecret;
const otherSecret = random(32) as CallSecret;
const context = callContextOf(secret);
const keys = generateCallKeyPairs(random);
const selfId = participantIdOf(secret, "alice", "laptop");
const otherId = participantIdOf(secret, "bob", "phone");
const displayName = fc.string({ maxLength: 64 });
const badMac = { format: "announcement", code: "bad-mac" };
const badLength = { format: "announcement", code: "bad-length" };

describe("announcements", () => {
  it("round-trips id, both public keys and the sealed display name", () => {
    fc.assert(
      fc.property(displayName, (name) => {
        const bytes = createAnnouncement(context, selfId, keys, name, random);
        const copy = bytes.slice();
        const parsed = verifyAnnouncement(context, selfId, bytes);
        expect(parsed.displayName).toBe(name);
        expect(parsed.x25519PublicKey).toEqual(keys.x25519.publicKey);
        expect(parsed.ed25519PublicKey).toEqual(keys.ed25519.publicKey);
        expect(bytes).toEqual(copy); // not mutated
        expect(bytes.length).toBeLessThanOrEqual(1024);
      }),
      { numRuns: 50 },
    );
  });

  it("the server sees no name: the display name is not in the bytes", () => {
    const bytes = createAnnouncement(context, selfId, keys, "Alice Wonderland", random);
    expect(new TextDecoder("latin1").decode(bytes)).not.toContain("Alice");
  });

  it("rejects any single bit flip", () => {
    const bytes = createAnnouncement(context, selfId, keys, "Alice", random);
    fc.assert(
      fc.property(fc.nat({ max: bytes.length * 8 - 1 }), (bit) => {
        const tampered = bytes.slice();
        tampered[bit >> 3] = (tampered[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        expect(refusalOf(() => verifyAnnouncement(context, selfId, tampered))).toEqual(badMac);
      }),
      { numRuns: 200 },
    );
  });

  it("rejects truncation and extension", () => {
    const bytes = createAnnouncement(context, selfId, keys, "Alice", random);
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), (length) => {
        // The MAC is checked before anything is parsed: a cut is a wrong MAC unless none is left.
        expect(
          refusalOf(() => verifyAnnouncement(context, selfId, bytes.slice(0, length))),
        ).toEqual(length <= 32 ? badLength : badMac);
      }),
      { numRuns: 50 },
    );
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(refusalOf(() => verifyAnnouncement(context, selfId, longer))).toEqual(badMac);
  });

  it("rejects another room (call secret), another participant and random bytes", () => {
    const bytes = createAnnouncement(context, selfId, keys, "Alice", random);
    expect(refusalOf(() => verifyAnnouncement(callContextOf(otherSecret), selfId, bytes))).toEqual(
      badMac,
    );
    expect(refusalOf(() => verifyAnnouncement(context, otherId, bytes))).toEqual({
      format: "announcement",
      code: "wrong-participant",
    });
    // Same secret, but the room id bound in the MAC differs: a replay into another room.
    expect(
      refusalOf(() =>
        verifyAnnouncement({ ...context, roomId: "AAAAAAAAAAAAAAAAAAAAAA" }, selfId, bytes),
      ),
    ).toEqual(badMac);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1100 }), (junk) => {
        const impossible = junk.length <= 32 || junk.length > 1024;
        expect(refusalOf(() => verifyAnnouncement(context, selfId, junk))).toEqual(
          impossible ? badLength : badMac,
        );
      }),
      { numRuns: 100 },
    );
  });

  it("behind a valid MAC (only holders of the call secret get there), says what is wrong", () => {
    const bytes = createAnnouncement(context, selfId, keys, "Alice", random);
    const body = bytes.slice(0, bytes.length - 32);
    // Re-MACs a changed body as a member holding K_auth could: HMAC(K_auth, room id ‖ body).
    const remac = (changed: Uint8Array) => {
      const room = new TextEncoder().encode(context.roomId);
      const mac = hmac(sha256, context.announceKey, new Uint8Array([...room, ...changed]));
      return new Uint8Array([...changed, ...mac]);
    };
    const withByte = (index: number, value: number) => {
      const changed = body.slice();
      changed[index] = value;
      return remac(changed);
    };
    const cases: [Uint8Array, string][] = [
      [withByte(0, 2), "bad-version"],
      [remac(new Uint8Array([...body, 0])), "bad-length"],
      [remac(body.slice(0, 100)), "bad-length"],
      // The last byte of the body is the sealed profile's tag.
      [withByte(body.length - 1, (body[body.length - 1] ?? 0) ^ 1), "bad-tag"],
    ];
    // node-formats.ts seals any name it is given, here one the schema refuses.
    const tooLong = node.createAnnouncement(node.callContextOf(secret), {
      participantId: selfId,
      x25519Public: keys.x25519.publicKey,
      ed25519Public: keys.ed25519.publicKey,
      nonce: random(16),
      profileNonce: random(24),
      displayName: "x".repeat(65),
    });
    cases.push([tooLong, "bad-profile"]);
    for (const [changed, code] of cases) {
      expect(refusalOf(() => verifyAnnouncement(context, selfId, changed))).toEqual({
        format: "announcement",
        code,
      });
    }
  });

  it("refuses a display name longer than 64 characters", () => {
    expect(() => createAnnouncement(context, selfId, keys, "x".repeat(65), random)).toThrow(/64/);
  });
});
