// The invite link's fragment (docs/admission.md, The link): the call secret, and in an ask-to-join
// call the host's public key after a dot. The host key is what members check every membership state
// against, so it travels with the secret and nowhere else; a 43-character link is a call without a
// host, as before.
import { ed25519 } from "@noble/curves/ed25519.js";
import type { MemberKeyPair } from "./admission.js";
import { fromBase64url, toBase64url } from "./base64url.js";
import {
  type CallSecret,
  CallSecretError,
  decodeCallSecret,
  encodeCallSecret,
} from "./identifiers.js";
import type { Random } from "./random.js";

export interface Invite {
  readonly secret: CallSecret;
  /** The host's Ed25519 public key: present for an ask-to-join call. */
  readonly hostKey?: Uint8Array;
}

const KEY_TEXT = /^[A-Za-z0-9_-]{43}$/;

export function encodeInvite(invite: Invite): string {
  const secret = encodeCallSecret(invite.secret);
  return invite.hostKey ? `${secret}.${toBase64url(invite.hostKey)}` : secret;
}

/** Accepts "#S", "S", "#S.H" or "S.H"; throws CallSecretError (never echoing the input). */
export function decodeInvite(fragment: string): Invite {
  const text = fragment.startsWith("#") ? fragment.slice(1) : fragment;
  const dot = text.indexOf(".");
  if (dot < 0) return { secret: decodeCallSecret(text) };
  const secret = decodeCallSecret(text.slice(0, dot));
  const hostText = text.slice(dot + 1);
  let hostKey: Uint8Array;
  try {
    if (!KEY_TEXT.test(hostText)) throw new Error("shape");
    hostKey = fromBase64url(hostText);
    // A point that is not on the curve could never verify a state: refuse the link now.
    ed25519.Point.fromBytes(hostKey);
  } catch {
    throw new CallSecretError("the host key in the link is malformed");
  }
  return { secret, hostKey };
}

/** A fresh Ed25519 key pair: the host's key of a new call, or a device's member key. */
export function generateMemberKey(random: Random): MemberKeyPair {
  const { secretKey, publicKey } = ed25519.keygen(random(32));
  return { secretKey, publicKey };
}

/** The public key of a stored member key's secret (32-byte seed). */
export function memberKeyFromSecret(secretKey: Uint8Array): MemberKeyPair {
  return { secretKey: secretKey.slice(), publicKey: ed25519.getPublicKey(secretKey) };
}
