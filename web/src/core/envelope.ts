// Envelopes (docs/key-schedule.md, Envelopes): the only way key material travels. One channel per
// (self, peer) pair and direction: XChaCha20-Poly1305 under HKDF(X25519(a, B), salt = room id, info
// = "hush/v1 envelope" ‖ A ‖ B), random 24-byte nonce, and an AAD binding version, room, sender,
// recipient, epoch and a per-sender counter, so an envelope cannot be redirected, replayed or moved
// into an older epoch.
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { LIMITS } from "../../../protocol/signalling.js";
import { ByteReader } from "./byte-reader.js";
import { concat, u32be, utf8 } from "./bytes.js";
import { CryptoError } from "./crypto-error.js";
import type { CurveOps } from "./curve-ops.js";
import { LABELS } from "./labels.js";
import type { Random } from "./random.js";

export const ENVELOPE_VERSION = 1;
const HEADER_BYTES = 1 + 4 + 4 + 24;
const TAG_BYTES = 16;

interface OpenedEnvelope {
  readonly epoch: number;
  readonly counter: number;
  readonly plaintext: Uint8Array;
}

/** HKDF(X25519(a, B), salt = utf8(room id), info = "hush/v1 envelope" ‖ A ‖ B, L = 32). */
export function envelopeKeyOf(
  roomId: string,
  sharedSecret: Uint8Array,
  senderId: string,
  recipientId: string,
): Uint8Array {
  return hkdf(
    sha256,
    sharedSecret,
    utf8(roomId),
    utf8(LABELS.envelope + senderId + recipientId),
    32,
  );
}

/** HKDF(X25519(a, B), salt = utf8(room id), info = "hush/v1 hello" ‖ A ‖ B, L = 32). */
export function helloKeyOf(
  roomId: string,
  sharedSecret: Uint8Array,
  senderId: string,
  recipientId: string,
): Uint8Array {
  return hkdf(sha256, sharedSecret, utf8(roomId), utf8(LABELS.hello + senderId + recipientId), 32);
}

function aadOf(roomId: string, senderId: string, recipientId: string, header: Uint8Array) {
  return concat(utf8(`${LABELS.envelope}\0${roomId}\0${senderId}\0${recipientId}\0`), header);
}

/**
 * The envelope link between this client and one peer (keyed by the peer's announced X25519 key).
 * Holds both directions' keys, the send counter and the replay state of what was received.
 */
export class EnvelopeChannel {
  private readonly sendKey: Uint8Array;
  private readonly receiveKey: Uint8Array;
  /**
   * MAC keys of the liveness hellos in each direction (liveness.ts), from the same X25519 secret
   * under their own label: only the live holder of the announced private key can compute them.
   */
  readonly helloSendKey: Uint8Array;
  readonly helloReceiveKey: Uint8Array;
  private nextCounter = 1;
  private lastReceivedCounter = 0;
  private highestReceivedEpoch = 0;

  constructor(
    private readonly roomId: string,
    private readonly selfId: string,
    selfX25519SecretKey: Uint8Array,
    private readonly peerId: string,
    peerX25519PublicKey: Uint8Array,
    ops?: CurveOps,
  ) {
    // Counted before the call: a refused low-order point costs the multiplication too.
    if (ops) ops.x25519SharedSecrets += 1;
    // noble rejects low-order points (an all-zero shared secret) with an error: RFC 7748 §6.1.
    const shared = x25519.getSharedSecret(selfX25519SecretKey, peerX25519PublicKey);
    this.sendKey = envelopeKeyOf(roomId, shared, selfId, peerId);
    this.receiveKey = envelopeKeyOf(roomId, shared, peerId, selfId);
    this.helloSendKey = helloKeyOf(roomId, shared, selfId, peerId);
    this.helloReceiveKey = helloKeyOf(roomId, shared, peerId, selfId);
  }

  seal(epoch: number, plaintext: Uint8Array, random: Random): Uint8Array {
    const counter = this.nextCounter++;
    const header = concat(
      new Uint8Array([ENVELOPE_VERSION]),
      u32be(epoch),
      u32be(counter),
      random(24),
    );
    const nonce = header.subarray(9);
    const ciphertext = xchacha20poly1305(
      this.sendKey,
      nonce,
      aadOf(this.roomId, this.selfId, this.peerId, header.subarray(0, 9)),
    ).encrypt(plaintext);
    const out = concat(header, ciphertext);
    if (out.length > LIMITS.payloadBytes)
      throw new CryptoError("envelope", "bad-length", "too large");
    return out;
  }

  /** Opens an envelope from the peer; replay state changes only when it verifies. */
  open(bytes: Uint8Array): OpenedEnvelope {
    if (bytes.length < HEADER_BYTES + TAG_BYTES || bytes.length > LIMITS.payloadBytes) {
      throw new CryptoError("envelope", "bad-length", "impossible size");
    }
    const reader = new ByteReader(bytes, "envelope");
    if (reader.u8() !== ENVELOPE_VERSION)
      throw new CryptoError("envelope", "bad-version", "unknown version");
    const epoch = reader.u32();
    const counter = reader.u32();
    const nonce = reader.take(24);
    const ciphertext = reader.take(bytes.length - HEADER_BYTES);
    reader.end();
    let plaintext: Uint8Array;
    try {
      plaintext = xchacha20poly1305(
        this.receiveKey,
        nonce,
        aadOf(this.roomId, this.peerId, this.selfId, bytes.subarray(0, 9)),
      ).decrypt(ciphertext);
    } catch {
      throw new CryptoError(
        "envelope",
        "bad-tag",
        "does not decrypt (tampered, wrong key, room or recipient)",
      );
    }
    if (counter <= this.lastReceivedCounter)
      throw new CryptoError("envelope", "replayed", "replayed");
    if (epoch < this.highestReceivedEpoch)
      throw new CryptoError("envelope", "older-epoch", "for an older epoch");
    this.lastReceivedCounter = counter;
    this.highestReceivedEpoch = epoch;
    return { epoch, counter, plaintext };
  }
}
