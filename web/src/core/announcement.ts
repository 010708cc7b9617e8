// Announcements (docs/key-schedule.md, Announcements): {participantId, X25519 public key, Ed25519
// public key, nonce} plus the sealed profile, MAC'd with K_auth. A server without S can neither
// forge a participant nor swap its keys, and the display name is readable only by holders of S.
// In an ask-to-join call the profile also names the device's member key, which signs the
// announcement's session keys (docs/admission.md, Member keys). Layout in docs/key-schedule.md.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { z } from "zod";
import { LIMITS } from "../../../protocol/signalling.js";
import { fromBase64url, toBase64url } from "./base64url.js";
import { ByteReader } from "./byte-reader.js";
import { concat, equalBytes, fromUtf8, utf8 } from "./bytes.js";
import type { MemberKeyPair } from "./admission.js";
import type { CallContext, CallKeyPairs } from "./call-keys.js";
import { CryptoError } from "./crypto-error.js";
import type { CurveOps } from "./curve-ops.js";
import { LABELS } from "./labels.js";
import type { Random } from "./random.js";

const ANNOUNCEMENT_VERSION = 1;
export const DISPLAY_NAME_MAX = 64;
const MAC_BYTES = 32;

const B64U_32 = /^[A-Za-z0-9_-]{43}$/;
const B64U_64 = /^[A-Za-z0-9_-]{86}$/;

/** The sealed profile's plaintext. JSON so later versions can add optional fields. */
const Profile = z.object({
  displayName: z
    .string()
    .max(DISPLAY_NAME_MAX, `display name longer than ${DISPLAY_NAME_MAX} characters`),
  /** The member key (ask-to-join calls only), b64u. */
  member: z.string().regex(B64U_32).optional(),
  /** The member key's signature over this announcement's session keys, b64u. */
  memberSig: z.string().regex(B64U_64).optional(),
});

export interface Announcement {
  readonly participantId: string;
  readonly x25519PublicKey: Uint8Array;
  readonly ed25519PublicKey: Uint8Array;
  readonly nonce: Uint8Array;
  readonly displayName: string;
  /** The device's member key, present (and its binding verified) in ask-to-join calls. */
  readonly memberKey?: Uint8Array;
}

/** What a member key signs: this announcement's session keys, in this room, for this id. */
function bindingOf(
  context: CallContext,
  participantId: string,
  x25519PublicKey: Uint8Array,
  ed25519PublicKey: Uint8Array,
  nonce: Uint8Array,
): Uint8Array {
  return concat(
    utf8(`${LABELS.memberBinding}\0${context.roomId}\0${participantId}\0`),
    x25519PublicKey,
    ed25519PublicKey,
    nonce,
  );
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
  member?: MemberKeyPair,
  ops?: CurveOps,
): Uint8Array {
  // Drawn in this order since version 1 (test/vectors pin the bytes).
  const profileNonce = random(24);
  const nonce = random(16);
  let binding: { member: string; memberSig: string } | undefined;
  if (member) {
    if (ops) ops.ed25519Signs += 1;
    const signed = bindingOf(
      context,
      participantId,
      keys.x25519.publicKey,
      keys.ed25519.publicKey,
      nonce,
    );
    binding = {
      member: toBase64url(member.publicKey),
      memberSig: toBase64url(ed25519.sign(signed, member.secretKey)),
    };
  }
  const profile = Profile.parse({ displayName, ...binding });
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
    nonce,
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
  ops?: CurveOps,
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
  const { member, memberSig } = profile.data;
  if ((member === undefined) !== (memberSig === undefined))
    throw new CryptoError("announcement", "bad-profile", "member key without its signature");
  let memberKey: Uint8Array | undefined;
  if (member !== undefined && memberSig !== undefined) {
    memberKey = fromBase64url(member);
    const signed = bindingOf(context, participantId, x25519PublicKey, ed25519PublicKey, nonce);
    if (ops) ops.ed25519Verifies += 1;
    let valid = false;
    try {
      valid = ed25519.verify(fromBase64url(memberSig), signed, memberKey);
    } catch {
      valid = false;
    }
    if (!valid)
      throw new CryptoError("announcement", "bad-signature", "member key does not vouch for it");
  }
  return {
    participantId,
    x25519PublicKey,
    ed25519PublicKey,
    nonce,
    displayName: profile.data.displayName,
    ...(memberKey ? { memberKey } : {}),
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
