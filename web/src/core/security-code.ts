// docs/key-schedule.md, Security code: a short code every participant can read aloud. It commits to
// the verified roster (each participant id with both of its public keys) and to the call secret, so
// two people who see the same code know no server swapped a key between them.
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8 } from "./bytes.js";
import type { CallSecret } from "./identifiers.js";
import { LABELS } from "./labels.js";

interface CodeEntry {
  readonly participantId: string;
  readonly x25519PublicKey: Uint8Array;
  readonly ed25519PublicKey: Uint8Array;
}

const GROUPS = 5;

/** HKDF(S, info = "hush/v1 security code", L = 32): the same for the whole call, so made once. */
export function securityCodeKeyOf(secret: CallSecret): Uint8Array {
  return hkdf(sha256, secret, undefined, utf8(LABELS.securityCode), 32);
}

/** Five groups of five digits, e.g. "04821 99310 27745 00319 58102". */
export function securityCodeOf(secret: CallSecret, roster: readonly CodeEntry[]): string {
  return securityCodeWith(securityCodeKeyOf(secret), roster);
}

/**
 * The code under a key from securityCodeKeyOf. Every member recomputes it on each join and leave,
 * so in a 200-person call the transcript (17 KB) is written into one buffer, not built from parts.
 */
export function securityCodeWith(key: Uint8Array, roster: readonly CodeEntry[]): string {
  // Sorted by id so every client builds the same transcript whatever order it learned the roster in.
  const sorted = roster
    .map((entry) => ({ entry, id: utf8(entry.participantId) }))
    .sort((a, b) =>
      a.entry.participantId < b.entry.participantId
        ? -1
        : a.entry.participantId > b.entry.participantId
          ? 1
          : 0,
    );
  let length = 4;
  for (const { entry, id } of sorted) {
    length += id.length + entry.x25519PublicKey.length + entry.ed25519PublicKey.length;
  }
  const transcript = new Uint8Array(length);
  new DataView(transcript.buffer).setUint32(0, sorted.length);
  let offset = 4;
  for (const { entry, id } of sorted) {
    for (const part of [id, entry.x25519PublicKey, entry.ed25519PublicKey]) {
      transcript.set(part, offset);
      offset += part.length;
    }
  }
  const digest = hmac(sha256, key, transcript);
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  const groups: string[] = [];
  for (let i = 0; i < GROUPS; i++) {
    groups.push(String(view.getUint32(i * 4) % 100_000).padStart(5, "0"));
  }
  return groups.join(" ");
}
