// The per-call context every client derives once from the call secret (docs/key-schedule.md,
// Derivations), plus the per-call key pairs of its Announcements (fresh X25519 and Ed25519 pairs,
// never reused across calls or reconnects).
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import type { CurveOps } from "./curve-ops.js";
import { announceKeyOf, type CallSecret, profileKeyOf, roomIdOf } from "./identifiers.js";
import type { Random } from "./random.js";

export interface CallContext {
  readonly roomId: string;
  readonly announceKey: Uint8Array;
  readonly profileKey: Uint8Array;
}

export function callContextOf(secret: CallSecret): CallContext {
  return {
    roomId: roomIdOf(secret),
    announceKey: announceKeyOf(secret),
    profileKey: profileKeyOf(secret),
  };
}

interface KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface CallKeyPairs {
  readonly x25519: KeyPair;
  readonly ed25519: KeyPair;
}

export function generateCallKeyPairs(random: Random, ops?: CurveOps): CallKeyPairs {
  if (ops) ops.keyPairs += 1;
  const xSecret = random(32);
  const edSeed = random(32);
  const ed = ed25519.keygen(edSeed);
  return {
    x25519: { secretKey: xSecret, publicKey: x25519.getPublicKey(xSecret) },
    ed25519: { secretKey: ed.secretKey, publicKey: ed.publicKey },
  };
}
