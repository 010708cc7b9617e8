// docs/key-schedule.md, Security code: a short code every participant can read aloud. It commits to
// the verified roster (each participant id with both of its public keys) and to the call secret, so
// two people who see the same code know no server swapped a key between them.
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, u32be, utf8 } from "./bytes.js";
import type { CallSecret } from "./identifiers.js";
import { LABELS } from "./labels.js";

interface CodeEntry {
  readonly participantId: string;
  readonly x25519PublicKey: Uint8Array;
  readonly ed25519PublicKey: Uint8Array;
}

const GROUPS = 5;

/** Five groups of five digits, e.g. "04821 99310 27745 00319 58102". */
export function securityCodeOf(secret: CallSecret, roster: readonly CodeEntry[]): string {
  const key = hkdf(sha256, secret, undefined, utf8(LABELS.securityCode), 32);
  // Sorted by id so every client builds the same transcript whatever order it learned the roster in.
  const sorted = [...roster].sort((a, b) =>
    a.participantId < b.participantId ? -1 : a.participantId > b.participantId ? 1 : 0,
  );
  const transcript = concat(
    u32be(sorted.length),
    ...sorted.flatMap((entry) => [
      utf8(entry.participantId),
      entry.x25519PublicKey,
      entry.ed25519PublicKey,
    ]),
  );
  const digest = hmac(sha256, key, transcript);
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  const groups: string[] = [];
  for (let i = 0; i < GROUPS; i++) {
    groups.push(String(view.getUint32(i * 4) % 100_000).padStart(5, "0"));
  }
  return groups.join(" ");
}
