// The liveness proof (docs/key-schedule.md, Liveness hellos). An announcement only shows that
// someone once knew the call secret: the room id is the same in every life of a call, so a server
// can replay a recorded one. A peer counts as verified only after it sent a hello that binds both
// its own announcement and the verifier's current one, MAC'd with a key from X25519(its announced
// key, the verifier's current key). Every (re)connection makes a fresh announcement with fresh key
// pairs, so no recording carries a valid hello for it, and only the live holder of the announced
// private key can compute the MAC. A MAC rather than a signature keeps a join cheap: a joiner
// answers every member in the call.
//
// Layout (a unicast payload; envelopes start with their version byte 1, hellos with HELLO_TAG):
//   tag u8 = 0x48 | flags u8 (bit 0: "answer me") | mac 32
//   mac = HMAC-SHA256(helloKey from→to, utf8("hush/v1 hello\0" ‖ roomId ‖ "\0" ‖ from ‖ "\0" ‖ to
//         ‖ "\0") ‖ SHA-256(from's announcement) ‖ SHA-256(to's announcement) ‖ flags)
//   helloKey A→B = HKDF(X25519(a, B), salt = utf8(roomId), info = "hush/v1 hello" ‖ A ‖ B, L = 32)
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, equalBytes, utf8 } from "./bytes.js";
import { CryptoError } from "./crypto-error.js";
import { LABELS } from "./labels.js";

const HELLO_TAG = 0x48;
const MAC_BYTES = 32;
const HELLO_BYTES = 2 + MAC_BYTES;
const ANSWER_ME = 1;

export interface HelloParties {
  readonly roomId: string;
  readonly from: string;
  readonly to: string;
  /** The exact announcement bytes each side was admitted with. */
  readonly fromAnnouncement: Uint8Array;
  readonly toAnnouncement: Uint8Array;
}

interface Hello {
  /** The sender has not verified the recipient yet and asks for a hello back. */
  readonly answerMe: boolean;
}

function macOf(parties: HelloParties, helloKey: Uint8Array, flags: number): Uint8Array {
  return hmac(
    sha256,
    helloKey,
    concat(
      utf8(`${LABELS.hello}\0${parties.roomId}\0${parties.from}\0${parties.to}\0`),
      sha256(parties.fromAnnouncement),
      sha256(parties.toAnnouncement),
      new Uint8Array([flags]),
    ),
  );
}

export function isHello(payload: Uint8Array): boolean {
  return payload.length > 0 && payload[0] === HELLO_TAG;
}

/** `helloKey` is the sender's direction (EnvelopeChannel.helloSendKey). */
export function makeHello(parties: HelloParties, helloKey: Uint8Array, hello: Hello): Uint8Array {
  const flags = hello.answerMe ? ANSWER_ME : 0;
  return concat(new Uint8Array([HELLO_TAG, flags]), macOf(parties, helloKey, flags));
}

/**
 * Checks a hello `parties.from` sent us with the receiving direction's key
 * (EnvelopeChannel.helloReceiveKey); throws CryptoError unless it is live proof.
 */
export function checkHello(parties: HelloParties, helloKey: Uint8Array, bytes: Uint8Array): Hello {
  if (bytes[0] !== HELLO_TAG) throw new CryptoError("hello", "bad-kind", "not a hello");
  if (bytes.length !== HELLO_BYTES) throw new CryptoError("hello", "bad-length", "impossible size");
  const flags = bytes[1] ?? 0;
  if ((flags & ~ANSWER_ME) !== 0) throw new CryptoError("hello", "bad-flags", "unknown flags");
  // equalBytes runs in constant time over equal lengths.
  if (!equalBytes(bytes.subarray(2), macOf(parties, helloKey, flags))) {
    throw new CryptoError("hello", "bad-mac", "does not verify");
  }
  return { answerMe: (flags & ANSWER_ME) !== 0 };
}
