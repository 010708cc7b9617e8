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
import type { SharedSecretDeriver } from "./shared-secrets.js";

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

/** The AAD's part fixed for one direction of a pair; the header's first 9 bytes follow it. */
function aadPrefixOf(roomId: string, senderId: string, recipientId: string): Uint8Array {
  return utf8(`${LABELS.envelope}\0${roomId}\0${senderId}\0${recipientId}\0`);
}

/** The four keys of one (self, peer) pair, all from the one X25519 shared secret. */
interface ChannelKeys {
  readonly send: Uint8Array;
  readonly receive: Uint8Array;
  readonly helloSend: Uint8Array;
  readonly helloReceive: Uint8Array;
}

/**
 * The envelope link between this client and one peer (keyed by the peer's announced X25519 key).
 * Holds both directions' keys, the send counter and the replay state of what was received.
 *
 * The keys come from one X25519 per peer incarnation, made on first use rather than when the peer
 * is announced: a joiner is announced 199 peers at once and needs only its key leader's channel to
 * get its key, so deriving them all up front (milliseconds each in JavaScript) would hold its key
 * back behind work nobody waits for. Where the platform has X25519, `prepare` makes it there ahead
 * of the first use (shared-secrets.ts); the keys are the same either way.
 */
export class EnvelopeChannel {
  private keys: ChannelKeys | undefined;
  private unusable: CryptoError | undefined;
  /** Waiting for the platform's X25519 (prepare); emptied when it answers. */
  private preparing: (() => void)[] | undefined;
  private wasPrepared = false;
  private nextCounter = 1;
  private lastReceivedCounter = 0;
  private highestReceivedEpoch = 0;
  /** Each direction's AAD prefix, made once: a rotation seals n-2 envelopes and opens n-2 acks. */
  private readonly sendAad: Uint8Array;
  private readonly receiveAad: Uint8Array;

  constructor(
    private readonly roomId: string,
    private readonly selfId: string,
    private readonly selfX25519SecretKey: Uint8Array,
    private readonly peerId: string,
    private readonly peerX25519PublicKey: Uint8Array,
    private readonly ops?: CurveOps,
  ) {
    this.sendAad = aadPrefixOf(roomId, selfId, peerId);
    this.receiveAad = aadPrefixOf(roomId, peerId, selfId);
  }

  /** True once the X25519 of this pair has been made (successfully or not). */
  get derived(): boolean {
    return this.keys !== undefined || this.unusable !== undefined;
  }

  /** The platform answered a prepare (with the secret or without): later ones go straight on. */
  get prepared(): boolean {
    return this.wasPrepared;
  }

  /** Makes the pair's X25519 now if it is not made yet; false when the peer's key is unusable. */
  ready(): boolean {
    try {
      this.derive();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * MAC keys of the liveness hellos in each direction (liveness.ts), from the same X25519 secret
   * under their own label: only the live holder of the announced private key can compute them.
   */
  get helloSendKey(): Uint8Array {
    return this.derive().helloSend;
  }

  get helloReceiveKey(): Uint8Array {
    return this.derive().helloReceive;
  }

  /**
   * Has `deriver` (the platform's X25519, off this thread) make the pair's shared secret, then calls
   * `then` (at once if that was done before). Without an answer from it the keys are still made on
   * first use, in JavaScript, which also decides whether the peer's key is usable at all.
   */
  prepare(deriver: SharedSecretDeriver, then: () => void): void {
    if (this.derived || this.wasPrepared) {
      then();
      return;
    }
    if (this.preparing) {
      this.preparing.push(then);
      return;
    }
    this.preparing = [then];
    deriver.derive(this.selfX25519SecretKey, this.peerX25519PublicKey, (shared) => {
      this.wasPrepared = true;
      if (shared && !this.derived) {
        if (this.ops) this.ops.x25519SharedSecrets += 1;
        this.keys = this.keysFrom(shared);
      }
      shared?.fill(0);
      const waiting = this.preparing ?? [];
      this.preparing = undefined;
      for (const next of waiting) {
        // One failing continuation must not strand the others behind it.
        try {
          next();
        } catch {
          // The continuation's own failure; the channel's state is already settled.
        }
      }
    });
  }

  /**
   * The pair's keys, derived on first use. Throws CryptoError (every time) when the peer announced
   * a point no Diffie-Hellman can use: such a peer can never prove itself or receive a key.
   */
  private derive(): ChannelKeys {
    if (this.keys) return this.keys;
    if (this.unusable) throw this.unusable;
    // Counted before the call: a refused low-order point costs the multiplication too.
    if (this.ops) this.ops.x25519SharedSecrets += 1;
    let shared: Uint8Array;
    try {
      // noble rejects low-order points (an all-zero shared secret) with an error: RFC 7748 §6.1.
      shared = x25519.getSharedSecret(this.selfX25519SecretKey, this.peerX25519PublicKey);
    } catch {
      this.unusable = new CryptoError("envelope", "bad-key", "the peer announced a low-order key");
      throw this.unusable;
    }
    this.keys = this.keysFrom(shared);
    shared.fill(0);
    return this.keys;
  }

  private keysFrom(shared: Uint8Array): ChannelKeys {
    const { roomId, selfId, peerId } = this;
    return {
      send: envelopeKeyOf(roomId, shared, selfId, peerId),
      receive: envelopeKeyOf(roomId, shared, peerId, selfId),
      helloSend: helloKeyOf(roomId, shared, selfId, peerId),
      helloReceive: helloKeyOf(roomId, shared, peerId, selfId),
    };
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
      this.derive().send,
      nonce,
      concat(this.sendAad, header.subarray(0, 9)),
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
        this.derive().receive,
        nonce,
        concat(this.receiveAad, bytes.subarray(0, 9)),
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
