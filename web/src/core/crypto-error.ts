// The one error the core's binary formats throw (docs/key-schedule.md: announcements, hellos,
// envelopes, broadcasts; docs/chat.md: chat messages). A refused payload is routine on a hostile
// relay, so the caller counts it and moves on; the code says why in a word a counter, a test or a
// log can key on without parsing prose. "Wrong room" or "wrong key" have no code of their own: they are indistinguishable from
// tampering by design (the room id and the keys are bound into the MAC, tag or signature).
export type CryptoFormat =
  | "announcement"
  | "hello"
  | "envelope"
  | "broadcast"
  | "chat"
  | "membership";

export type CryptoErrorCode =
  /** An impossible size: truncated, padded, too short or over the protocol's limit. */
  | "bad-length"
  /** A version byte this client does not speak. */
  | "bad-version"
  /** Not this kind of payload: an unknown broadcast kind, or a unicast that is not a hello. */
  | "bad-kind"
  /** Flag bits that are not defined. */
  | "bad-flags"
  /** Epoch fields that contradict each other (a broadcast's chain start after its epoch). */
  | "bad-epochs"
  /** The HMAC does not verify (announcement, hello). */
  | "bad-mac"
  /** The peer announced a public key no Diffie-Hellman can use (a low-order X25519 point). */
  | "bad-key"
  /** The AEAD tag does not verify (envelope, sealed profile). */
  | "bad-tag"
  /** The Ed25519 signature does not verify (broadcast). */
  | "bad-signature"
  /** The sealed profile opened but is not a valid profile. */
  | "bad-profile"
  /** A chat message opened but its content is not a valid chat body. */
  | "bad-body"
  /** Valid, but made by another participant than the one the server attributes it to. */
  | "wrong-participant"
  /** An envelope counter at or below the last one accepted on its channel. */
  | "replayed"
  /** An envelope for an epoch below the highest one accepted on its channel. */
  | "older-epoch";

export class CryptoError extends Error {
  override readonly name = "CryptoError";

  constructor(
    readonly format: CryptoFormat,
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(`${format}: ${message}`);
  }
}
