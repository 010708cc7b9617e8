// Leader broadcasts ("ratchet to e+1", "commit e+1"), signed with the leader's per-call Ed25519 key
// (RFC 8032) over the room id and the leader's id, so neither the server nor any other member (a
// leaver included) can forge one or move it to another room. Replays are harmless because
// receivers act only on epochs above their own. Layout in docs/key-schedule.md, Broadcasts.
import { ed25519 } from "@noble/curves/ed25519.js";
import { LIMITS } from "../../../protocol/signalling.js";
import { ByteReader } from "./byte-reader.js";
import { concat, u32be, utf8 } from "./bytes.js";
import { CryptoError } from "./crypto-error.js";
import type { CurveOps } from "./curve-ops.js";
import { LABELS } from "./labels.js";
import { type SignatureVerifier, verifyInJavaScript } from "./signature-verifier.js";

const BROADCAST_VERSION = 1;
const SIGNATURE_BYTES = 64;
const KIND_CODES = { ratchet: 1, commit: 2 } as const;

export type BroadcastKind = keyof typeof KIND_CODES;

export interface BroadcastBody {
  readonly kind: BroadcastKind;
  readonly epoch: number;
  /** First epoch of the key chain `epoch` belongs to (the last fresh key). */
  readonly chainStart: number;
  readonly leaderSeq: number;
  /** keyCheckOf(K_epoch): lets a receiver confirm the key it derived or holds. */
  readonly keyCheck: Uint8Array;
}

function signedPrefix(roomId: string, leaderId: string): Uint8Array {
  return utf8(`${LABELS.broadcast}\0${roomId}\0${leaderId}\0`);
}

function encodeBody(body: BroadcastBody): Uint8Array {
  if (body.keyCheck.length !== 16)
    throw new CryptoError("broadcast", "bad-length", "key check must be 16 bytes");
  return concat(
    new Uint8Array([BROADCAST_VERSION, KIND_CODES[body.kind]]),
    u32be(body.epoch),
    u32be(body.chainStart),
    u32be(body.leaderSeq),
    body.keyCheck,
  );
}

export function signBroadcast(
  roomId: string,
  leaderId: string,
  ed25519SecretKey: Uint8Array,
  body: BroadcastBody,
  ops?: CurveOps,
): Uint8Array {
  const encoded = encodeBody(body);
  if (ops) ops.ed25519Signs += 1;
  const signature = ed25519.sign(concat(signedPrefix(roomId, leaderId), encoded), ed25519SecretKey);
  return concat(encoded, signature);
}

/** A broadcast read but not yet checked: its body, the message its signature signs, the signature. */
export interface ReadBroadcast {
  readonly body: BroadcastBody;
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * Reads a broadcast the server attributes to `leaderId` without checking its signature; throws
 * CryptoError on an impossible size or a malformed body. Done first, so malformed payloads cost
 * no signature check.
 */
export function readBroadcast(roomId: string, leaderId: string, bytes: Uint8Array): ReadBroadcast {
  if (bytes.length <= SIGNATURE_BYTES || bytes.length > LIMITS.payloadBytes) {
    throw new CryptoError("broadcast", "bad-length", "impossible size");
  }
  const encoded = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
  return {
    body: parseBody(encoded),
    signed: concat(signedPrefix(roomId, leaderId), encoded),
    signature: bytes.subarray(bytes.length - SIGNATURE_BYTES),
  };
}

/** Verifies a broadcast the server attributes to `leaderId`; throws CryptoError otherwise. */
export function verifyBroadcast(
  roomId: string,
  leaderId: string,
  ed25519PublicKey: Uint8Array,
  bytes: Uint8Array,
  ops?: CurveOps,
): BroadcastBody {
  const { body, signed, signature } = readBroadcast(roomId, leaderId, bytes);
  if (ops) ops.ed25519Verifies += 1;
  if (!verifyInJavaScript(signature, signed, ed25519PublicKey))
    throw new CryptoError("broadcast", "bad-signature", "signature does not verify");
  return body;
}

/**
 * Checks a read broadcast's signature with `verifier` (the platform's Ed25519, off the main
 * thread): `done` gets the body, or the CryptoError verifyBroadcast would throw.
 */
export function checkBroadcast(
  verifier: SignatureVerifier,
  read: ReadBroadcast,
  ed25519PublicKey: Uint8Array,
  done: (result: BroadcastBody | CryptoError) => void,
  ops?: CurveOps,
): void {
  if (ops) ops.ed25519Verifies += 1;
  verifier.verify(read.signature, read.signed, ed25519PublicKey, (valid) =>
    done(
      valid
        ? read.body
        : new CryptoError("broadcast", "bad-signature", "signature does not verify"),
    ),
  );
}

/** readBroadcast, then checkBroadcast: a malformed broadcast is refused before any check. */
export function verifyBroadcastWith(
  verifier: SignatureVerifier,
  broadcast: { roomId: string; leaderId: string; ed25519PublicKey: Uint8Array; bytes: Uint8Array },
  done: (result: BroadcastBody | CryptoError) => void,
  ops?: CurveOps,
): void {
  let read: ReadBroadcast;
  try {
    read = readBroadcast(broadcast.roomId, broadcast.leaderId, broadcast.bytes);
  } catch (error) {
    done(error as CryptoError);
    return;
  }
  checkBroadcast(verifier, read, broadcast.ed25519PublicKey, done, ops);
}

function parseBody(encoded: Uint8Array): BroadcastBody {
  const reader = new ByteReader(encoded, "broadcast");
  if (reader.u8() !== BROADCAST_VERSION) {
    throw new CryptoError("broadcast", "bad-version", "unknown version");
  }
  const code = reader.u8();
  const kind =
    code === KIND_CODES.ratchet ? "ratchet" : code === KIND_CODES.commit ? "commit" : null;
  if (kind === null) throw new CryptoError("broadcast", "bad-kind", "unknown kind");
  const epoch = reader.u32();
  const chainStart = reader.u32();
  const leaderSeq = reader.u32();
  const keyCheck = reader.take(16);
  reader.end();
  if (epoch < 1 || chainStart < 1 || chainStart > epoch) {
    throw new CryptoError("broadcast", "bad-epochs", "epochs are inconsistent");
  }
  return { kind, epoch, chainStart, leaderSeq, keyCheck };
}
