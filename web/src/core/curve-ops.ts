// Counts of the elliptic-curve operations (@noble/curves) a session performs, the expensive part of
// its crypto: the functions that call the curves take one of these and count where the call is, so
// the core keeps no global state and each session counts its own (CallSession.metrics().curveOps).
export interface CurveOps {
  /** X25519(a, B): one per envelope channel, i.e. per verified peer incarnation. */
  x25519SharedSecrets: number;
  /** Ed25519 signatures: the leader's ratchet and commit broadcasts. */
  ed25519Signs: number;
  /** Ed25519 verifications: every broadcast from a verified member. */
  ed25519Verifies: number;
  /** Fresh per-connection key pairs (one X25519 and one Ed25519 base-point multiplication each). */
  keyPairs: number;
}

export function createCurveOps(): CurveOps {
  return { x25519SharedSecrets: 0, ed25519Signs: 0, ed25519Verifies: 0, keyPairs: 0 };
}
