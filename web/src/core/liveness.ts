// DESIGN §3 liveness proof. An announcement only shows that someone once knew the call secret: the
// room id is the same in every life of a call, so a server can replay a recorded one. A peer counts
// as verified only after it signed, with the Ed25519 key of its announcement, a hello that binds
// both its own announcement and the verifier's current one. Every (re)connection makes a fresh
// announcement with fresh key pairs, so no recording can carry a valid hello for it.
//
// Layout (a unicast payload; envelopes start with their version byte 1, hellos with HELLO_TAG):
//   tag u8 = 0x48 | flags u8 (bit 0: "answer me") | signature 64
//   signature over utf8("hush/v1 hello\0" ‖ roomId ‖ "\0" ‖ from ‖ "\0" ‖ to ‖ "\0")
//                  ‖ SHA-256(from's announcement) ‖ SHA-256(to's announcement) ‖ flags
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, utf8 } from "./bytes.js";
import { LABELS } from "./labels.js";

export const HELLO_TAG = 0x48;
const HELLO_BYTES = 2 + 64;
const ANSWER_ME = 1;

export class HelloError extends Error {
  override readonly name = "HelloError";
}

export interface HelloParties {
  readonly roomId: string;
  readonly from: string;
  readonly to: string;
  /** The exact announcement bytes each side was admitted with. */
  readonly fromAnnouncement: Uint8Array;
  readonly toAnnouncement: Uint8Array;
}

export interface Hello {
  /** The sender has not verified the recipient yet and asks for a hello back. */
  readonly answerMe: boolean;
}

function signedBytes(parties: HelloParties, flags: number): Uint8Array {
  return concat(
    utf8(`${LABELS.hello}\0${parties.roomId}\0${parties.from}\0${parties.to}\0`),
    sha256(parties.fromAnnouncement),
    sha256(parties.toAnnouncement),
    new Uint8Array([flags]),
  );
}

export function isHello(payload: Uint8Array): boolean {
  return payload.length > 0 && payload[0] === HELLO_TAG;
}

export function signHello(
  parties: HelloParties,
  ed25519SecretKey: Uint8Array,
  hello: Hello,
): Uint8Array {
  const flags = hello.answerMe ? ANSWER_ME : 0;
  const signature = ed25519.sign(signedBytes(parties, flags), ed25519SecretKey);
  return concat(new Uint8Array([HELLO_TAG, flags]), signature);
}

/** Checks a hello `parties.from` sent us; throws HelloError unless it is live proof. */
export function verifyHello(
  parties: HelloParties,
  ed25519PublicKey: Uint8Array,
  bytes: Uint8Array,
): Hello {
  if (bytes.length !== HELLO_BYTES || bytes[0] !== HELLO_TAG) {
    throw new HelloError("not a hello");
  }
  const flags = bytes[1] ?? 0;
  if ((flags & ~ANSWER_ME) !== 0) throw new HelloError("unknown hello flags");
  let valid = false;
  try {
    valid = ed25519.verify(bytes.subarray(2), signedBytes(parties, flags), ed25519PublicKey);
  } catch {
    valid = false;
  }
  if (!valid) throw new HelloError("hello signature does not verify");
  return { answerMe: (flags & ANSWER_ME) !== 0 };
}
