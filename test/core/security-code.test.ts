// The security code against an implementation other than the code under test (Node's crypto): the
// transcript layout of docs/key-schedule.md, Security code, sorted by id whatever the input order.
import { createHmac, hkdfSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { CallSecret } from "../../web/src/core/identifiers.js";
import { securityCodeOf } from "../../web/src/core/security-code.js";

const bytes = (length: number, fill: number) => new Uint8Array(length).fill(fill);

function expectedCode(
  secret: Uint8Array,
  roster: { participantId: string; x25519PublicKey: Uint8Array; ed25519PublicKey: Uint8Array }[],
): string {
  const key = Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), "hush/v1 security code", 32));
  const sorted = [...roster].sort((a, b) => (a.participantId < b.participantId ? -1 : 1));
  const count = Buffer.alloc(4);
  count.writeUInt32BE(sorted.length);
  const transcript = Buffer.concat([
    count,
    ...sorted.flatMap((e) => [
      Buffer.from(e.participantId, "utf8"),
      Buffer.from(e.x25519PublicKey),
      Buffer.from(e.ed25519PublicKey),
    ]),
  ]);
  const digest = createHmac("sha256", key).update(transcript).digest();
  return Array.from({ length: 5 }, (_, i) =>
    String(digest.readUInt32BE(i * 4) % 100_000).padStart(5, "0"),
  ).join(" ");
}

describe("security code", () => {
  const secret = bytes(32, 7) as CallSecret;
  const roster = [
    {
      participantId: "zzzzzzzzzzzzzzzzzzzzzw",
      x25519PublicKey: bytes(32, 1),
      ed25519PublicKey: bytes(32, 2),
    },
    {
      participantId: "AAAAAAAAAAAAAAAAAAAAAA",
      x25519PublicKey: bytes(32, 3),
      ed25519PublicKey: bytes(32, 4),
    },
    {
      participantId: "m-_mmmmmmmmmmmmmmmmmmg",
      x25519PublicKey: bytes(32, 5),
      ed25519PublicKey: bytes(32, 6),
    },
  ];

  it("is the HMAC of the sorted roster under the call's code key, as Node computes it", () => {
    const code = securityCodeOf(secret, roster);
    expect(code).toMatch(/^\d{5} \d{5} \d{5} \d{5} \d{5}$/);
    expect(code).toBe(expectedCode(secret, roster));
    expect(securityCodeOf(secret, [...roster].reverse())).toBe(code);
  });

  it("changes with any key of any member, and with the secret", () => {
    const code = securityCodeOf(secret, roster);
    const swapped = roster.map((e, i) => (i === 1 ? { ...e, ed25519PublicKey: bytes(32, 9) } : e));
    expect(securityCodeOf(secret, swapped)).not.toBe(code);
    expect(securityCodeOf(bytes(32, 8) as CallSecret, roster)).not.toBe(code);
    expect(securityCodeOf(secret, roster.slice(1))).not.toBe(code);
  });
});
