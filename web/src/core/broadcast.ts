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

/** Verifies a broadcast the server attributes to `leaderId`; throws CryptoError otherwise. */
export function verifyBroadcast(
  roomId: string,
  leaderId: string,
  ed25519PublicKey: Uint8Array,
  bytes: Uint8Array,
  ops?: CurveOps,
): BroadcastBody {
  if (bytes.length <= SIGNATURE_BYTES || bytes.length > LIMITS.payloadBytes) {
    throw new CryptoError("broadcast", "bad-length", "impossible size");
  }
  const encoded = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
  const signature = bytes.subarray(bytes.length - SIGNATURE_BYTES);
  let valid = false;
  if (ops) ops.ed25519Verifies += 1;
  try {
    valid = ed25519.verify(
      signature,
      concat(signedPrefix(roomId, leaderId), encoded),
      ed25519PublicKey,
    );
  } catch {
    valid = false;
  }
  if (!valid) throw new CryptoError("broadcast", "bad-signature", "signature does not verify");
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
