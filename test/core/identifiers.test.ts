// Call secret link form and identifier edge cases (docs/key-schedule.md, Derivations). The
// derivations themselves are checked against independent vectors in vectors.test.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromBase64url, toBase64url } from "../../web/src/core/base64url.js";
import {
  CallSecretError,
  decodeCallSecret,
  encodeCallSecret,
  generateCallSecret,
  participantIdOf,
  roomIdOf,
} from "../../web/src/core/identifiers.js";
import { systemRandom } from "../../web/src/core/random.js";

describe("call secret link form", () => {
  it("encodes to 43 base64url characters and decodes back, with or without '#'", () => {
    const secret = generateCallSecret(systemRandom);
    const link = encodeCallSecret(secret);
    expect(link).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decodeCallSecret(link)).toEqual(secret);
    expect(decodeCallSecret(`#${link}`)).toEqual(secret);
    expect(roomIdOf(secret)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it.each([
    ["", /no call secret/],
    ["#", /no call secret/],
    ["#abc", /43 base64url/],
    [`#${"A".repeat(42)}=`, /43 base64url/],
    [`#${"A".repeat(42)}+`, /43 base64url/],
    [`#${"A".repeat(44)}`, /43 base64url/],
    [`#${"A".repeat(42)}B`, /non-canonical|canonical/],
  ])("rejects %j with a clear error", (fragment, message) => {
    expect(() => decodeCallSecret(fragment)).toThrow(CallSecretError);
    expect(() => decodeCallSecret(fragment)).toThrow(message);
  });

  it("never echoes the input in its error", () => {
    const almost = `#${"s3cr3t".repeat(7)}`;
    try {
      decodeCallSecret(almost);
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain("s3cr3t");
    }
  });
});

describe("base64url", () => {
  it("round-trips any bytes and matches Node's encoder", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = toBase64url(bytes);
        expect(text).toBe(Buffer.from(bytes).toString("base64url"));
        expect(fromBase64url(text)).toEqual(bytes);
      }),
    );
  });

  it("refuses every text that is not the one canonical form of some bytes", () => {
    for (const bad of ["A", "AB=", "AB+", "AB/", "A B", "AB\u00e9", "AB\u{1F600}", "AB==", "AR"]) {
      expect(() => fromBase64url(bad), bad).toThrow(/not base64url/);
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        const canonical = Buffer.from(text, "base64url").toString("base64url") === text;
        if (canonical)
          expect(fromBase64url(text)).toEqual(new Uint8Array(Buffer.from(text, "base64url")));
        else expect(() => fromBase64url(text)).toThrow(/not base64url/);
      }),
      { numRuns: 2_000 },
    );
  });

  it("encodes payloads as long as the wire allows", () => {
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff);
    const text = toBase64url(bytes);
    expect(text).toBe(Buffer.from(bytes).toString("base64url"));
    expect(fromBase64url(text)).toEqual(bytes);
  });
});

describe("participant ids", () => {
  it("differ per user, device and call, and refuse an ambiguous NUL", () => {
    const s1 = generateCallSecret(systemRandom);
    const s2 = generateCallSecret(systemRandom);
    const ids = new Set([
      participantIdOf(s1, "alice", "laptop"),
      participantIdOf(s1, "alice", "phone"),
      participantIdOf(s1, "bob", "laptop"),
      participantIdOf(s2, "alice", "laptop"),
    ]);
    expect(ids.size).toBe(4);
    expect(() => participantIdOf(s1, "a\0b", "c")).toThrow(/NUL/);
  });
});
