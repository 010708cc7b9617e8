// Property tests for announcements (docs/key-schedule.md, Announcements): round trip; any bit flip,
// truncation, wrong room (another call's secret), wrong participant or wrong key is rejected;
// inputs are never mutated.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AnnouncementError,
  createAnnouncement,
  verifyAnnouncement,
} from "../../web/src/core/announcement.js";
import { callContextOf, generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import { type CallSecret, participantIdOf } from "../../web/src/core/identifiers.js";
import { seededRandom } from "./sim/seeded-random.js";

const random = seededRandom("announcement");
const secret = random(32) as CallSecret;
const otherSecret = random(32) as CallSecret;
const context = callContextOf(secret);
const keys = generateCallKeyPairs(random);
const selfId = participantIdOf(secret, "alice", "laptop");
const otherId = participantIdOf(secret, "bob", "phone");
const displayName = fc.string({ maxLength: 64 });

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
        expect(() => verifyAnnouncement(context, selfId, tampered)).toThrow(AnnouncementError);
      }),
      { numRuns: 200 },
    );
  });

  it("rejects truncation and extension", () => {
    const bytes = createAnnouncement(context, selfId, keys, "Alice", random);
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), (length) => {
        expect(() => verifyAnnouncement(context, selfId, bytes.slice(0, length))).toThrow(
          AnnouncementError,
        );
      }),
      { numRuns: 50 },
    );
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(() => verifyAnnouncement(context, selfId, longer)).toThrow(AnnouncementError);
  });

  it("rejects another room (call secret), another participant and random bytes", () => {
    const bytes = createAnnouncement(context, selfId, keys, "Alice", random);
    expect(() => verifyAnnouncement(callContextOf(otherSecret), selfId, bytes)).toThrow(
      AnnouncementError,
    );
    expect(() => verifyAnnouncement(context, otherId, bytes)).toThrow(AnnouncementError);
    // Same secret, but the room id bound in the MAC differs: a replay into another room.
    expect(() =>
      verifyAnnouncement({ ...context, roomId: "AAAAAAAAAAAAAAAAAAAAAA" }, selfId, bytes),
    ).toThrow(AnnouncementError);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1100 }), (junk) => {
        expect(() => verifyAnnouncement(context, selfId, junk)).toThrow(AnnouncementError);
      }),
      { numRuns: 100 },
    );
  });

  it("refuses a display name longer than 64 characters", () => {
    expect(() => createAnnouncement(context, selfId, keys, "x".repeat(65), random)).toThrow(/64/);
  });
});
