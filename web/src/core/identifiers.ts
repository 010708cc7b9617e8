// docs/key-schedule.md, Derivations: everything the servers see is derived from the call secret S.
// These are the exact derivations of its table; test/vectors/derivations.json checks them against
// node:crypto. HKDF is RFC 5869 HKDF-SHA256 with an empty salt; ids are unpadded base64url text.
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { ID_PATTERN } from "../../../protocol/signalling.js";
import { fromBase64url, toBase64url } from "./base64url.js";
import { concat, utf8 } from "./bytes.js";
import { LABELS } from "./labels.js";
import type { Random } from "./random.js";

export const CALL_SECRET_BYTES = 32;
const CALL_SECRET_TEXT = /^[A-Za-z0-9_-]{43}$/;

/** The 32-byte per-call secret. A branded copy so a random byte array is not passed by mistake. */
export type CallSecret = Uint8Array & { readonly __brand: "CallSecret" };

export class CallSecretError extends Error {
  override readonly name = "CallSecretError";
}

export function generateCallSecret(random: Random): CallSecret {
  const bytes = random(CALL_SECRET_BYTES);
  if (bytes.length !== CALL_SECRET_BYTES)
    throw new Error("random source returned the wrong length");
  return bytes.slice() as CallSecret;
}

/** Link form: b64u(S), 43 characters, carried in the URL fragment. */
export function encodeCallSecret(secret: CallSecret): string {
  return toBase64url(secret);
}

/**
 * Accepts the link fragment with or without its leading '#', and nothing else: the clear error says
 * what is wrong without echoing the (possibly secret) input.
 */
export function decodeCallSecret(fragment: string): CallSecret {
  const text = fragment.startsWith("#") ? fragment.slice(1) : fragment;
  if (text.length === 0) throw new CallSecretError("the link has no call secret after '#'");
  if (!CALL_SECRET_TEXT.test(text)) {
    throw new CallSecretError(
      "the call secret in the link is malformed: expected 43 base64url characters",
    );
  }
  try {
    return fromBase64url(text) as CallSecret;
  } catch {
    throw new CallSecretError("the call secret in the link is malformed: not canonical base64url");
  }
}

function derive(ikm: Uint8Array, label: string, length: number): Uint8Array {
  return hkdf(sha256, ikm, undefined, utf8(label), length);
}

/** room id = b64u(HKDF(S, "hush/v1 room id", 16)). */
export function roomIdOf(secret: CallSecret): string {
  return toBase64url(derive(secret, LABELS.roomId, 16));
}

/** K_pid = HKDF(S, "hush/v1 participant id", 32). */
export function participantIdKey(secret: CallSecret): Uint8Array {
  return derive(secret, LABELS.participantId, 32);
}

/** participant id = b64u(first 16 bytes of HMAC-SHA256(K_pid, utf8(userId) ‖ 0x00 ‖ utf8(deviceId))). */
export function participantIdOf(secret: CallSecret, userId: string, deviceId: string): string {
  // A NUL inside either id would make the concatenation ambiguous ("a\0b" + "c" vs "a" + "b\0c").
  if (userId.includes("\0") || deviceId.includes("\0")) {
    throw new Error("userId and deviceId must not contain NUL");
  }
  const mac = hmac(
    sha256,
    participantIdKey(secret),
    concat(utf8(userId), new Uint8Array([0]), utf8(deviceId)),
  );
  return toBase64url(mac.slice(0, 16));
}

/** K_auth = HKDF(S, "hush/v1 announce", 32): MACs announcements. */
export function announceKeyOf(secret: CallSecret): Uint8Array {
  return derive(secret, LABELS.announce, 32);
}

/** K_profile = HKDF(S, "hush/v1 profile", 32): seals display names inside announcements. */
export function profileKeyOf(secret: CallSecret): Uint8Array {
  return derive(secret, LABELS.profile, 32);
}

/** K_{e+1} = HKDF(K_e, "hush/v1 ratchet", 32): one-way, so K_{e+1} never reveals K_e. */
export function ratchetGroupKey(groupKey: Uint8Array): Uint8Array {
  return derive(groupKey, LABELS.ratchet, 32);
}

/** K_{e,P} = HKDF(K_e, "hush/v1 sender " ‖ ascii(P), 32); RFC 9605 §4.4.1: one sender per base key. */
export function senderKeyOf(groupKey: Uint8Array, participantId: string): Uint8Array {
  if (!ID_PATTERN.test(participantId)) throw new Error("not a participant id");
  return derive(groupKey, LABELS.sender + participantId, 32);
}

/** K_chat = HKDF(K_e, "hush/v1 chat key", 32): chat messages never use a media key. */
export function chatKeyOf(groupKey: Uint8Array): Uint8Array {
  return derive(groupKey, LABELS.chatKey, 32);
}

/** A public 16-byte commitment to a group key, so a member can tell it derived the leader's key. */
export function keyCheckOf(groupKey: Uint8Array): Uint8Array {
  return derive(groupKey, LABELS.keyCheck, 16);
}
