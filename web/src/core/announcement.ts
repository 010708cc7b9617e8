// Announcements (docs/key-schedule.md, Announcements): {participantId, X25519 public key, Ed25519
// public key, nonce} plus the sealed profile, MAC'd with K_auth. A server without S can neither
// forge a participant nor swap its keys, and the display name is readable only by holders of S.
// Layout in docs/key-schedule.md.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { z } from "zod";
import { LIMITS } from "../../../protocol/signalling.js";
import { fromBase64url, toBase64url } from "./base64url.js";
import { ByteReader } from "./byte-reader.js";
import { concat, equalBytes, fromUtf8, utf8 } from "./bytes.js";
import type { CallContext, CallKeyPairs } from "./call-keys.js";
import { CryptoError } from "./crypto-error.js";
import { LABELS } from "./labels.js";
import type { Random } from "./random.js";

const ANNOUNCEMENT_VERSION = 1;
export const DISPLAY_NAME_MAX = 64;
const MAC_BYTES = 32;

/** The sealed profile's plaintext. JSON so later versions can add optional fields. */
const Profile = z.object({
  displayName: z
    .string()
    .max(DISPLAY_NAME_MAX, `display name longer than ${DISPLAY_NAME_MAX} characters`),
});

export interface Announcement {
  readonly participantId: string;
  readonly x25519PublicKey: Uint8Array;
  readonly ed25519PublicKey: Uint8Array;
  readonly nonce: Uint8Array;
  readonly displayName: string;
}

function profileAad(context: CallContext, participantId: string): Uint8Array {
  return utf8(`${LABELS.profile}\0${context.roomId}\0${participantId}`);
}

function macOf(context: CallContext, body: Uint8Array): Uint8Array {
  // The room id is MAC'd explicitly, so an announcement cannot be replayed into another room even
  // by someone who knows both secrets.
  return hmac(sha256, context.announceKey, concat(utf8(context.roomId), body));
}

export function createAnnouncement(
  context: CallContext,
  participantId: string,
  keys: CallKeyPairs,
  displayName: string,
  random: Random,
): Uint8Array {
  const profile = Profile.parse({ displayName });
  const profileNonce = random(24);
  const sealed = xchacha20poly1305(
    context.profileKey,
    profileNonce,
    profileAad(context, participantId),
  ).encrypt(utf8(JSON.stringify(profile)));
  const body = concat(
    new Uint8Array([ANNOUNCEMENT_VERSION]),
    fromBase64url(participantId),
    keys.x25519.publicKey,
    keys.ed25519.publicKey,
    random(16),
    profileNonce,
    new Uint8Array([sealed.length >> 8, sealed.length & 0xff]),
    sealed,
  );
  const out = concat(body, macOf(context, body));
  if (out.length > LIMITS.announcementBytes)
    throw new CryptoError("announcement", "bad-length", "too large");
  return out;
}

/**
 * Verifies an announcement the server attributes to `participantId`. Throws CryptoError for
 * anything forged, truncated, from another room or attributed to the wrong participant.
 */
export function verifyAnnouncement(
  context: CallContext,
  participantId: string,
  bytes: Uint8Array,
): Announcement {
  if (bytes.length > LIMITS.announcementBytes || bytes.length <= MAC_BYTES) {
    throw new CryptoError("announcement", "bad-length", "impossible size");
  }
  const body = bytes.subarray(0, bytes.length - MAC_BYTES);
  if (!equalBytes(macOf(context, body), bytes.subarray(bytes.length - MAC_BYTES))) {
    throw new CryptoError("announcement", "bad-mac", "MAC does not verify");
  }
  const reader = new ByteReader(body, "announcement");
  if (reader.u8() !== ANNOUNCEMENT_VERSION) {
    throw new CryptoError("announcement", "bad-version", "unknown version");
  }
  // Ids are public, so a plain comparison of their text leaks nothing.
  if (toBase64url(reader.take(16)) !== participantId) {
    throw new CryptoError("announcement", "wrong-participant", "belongs to another participant");
  }
  const x25519PublicKey = reader.take(32);
  const ed25519PublicKey = reader.take(32);
  const nonce = reader.take(16);
  const profileNonce = reader.take(24);
  const sealed = reader.take(reader.u16());
  reader.end();
  let plaintext: Uint8Array;
  try {
    plaintext = xchacha20poly1305(
      context.profileKey,
      profileNonce,
      profileAad(context, participantId),
    ).decrypt(sealed);
  } catch {
    throw new CryptoError("announcement", "bad-tag", "profile does not decrypt");
  }
  const profile = Profile.safeParse(parseJson(plaintext));
  if (!profile.success)
    throw new CryptoError("announcement", "bad-profile", "profile is malformed");
  return {
    participantId,
    x25519PublicKey,
    ed25519PublicKey,
    nonce,
    displayName: profile.data.displayName,
  };
}

/** The profile's JSON, or undefined when it is not UTF-8 JSON (the schema then refuses it). */
function parseJson(plaintext: Uint8Array): unknown {
  try {
    return JSON.parse(fromUtf8(plaintext));
  } catch {
    return undefined;
  }
}
