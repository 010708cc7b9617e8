// X25519 by the platform's WebCrypto (browsers, Node) for the envelope channels' Diffie-Hellmans.
// Every member makes one with each joiner, to ask it for its liveness hello, and a joiner one with
// each member whose hello it checks: in a call of 200 that is 199 at once, 0.8 ms each in
// @noble/curves' JavaScript on the page's thread, against about 0.07 ms of native work on the
// platform's own threads. The result must be the same in both, or a peer could be verified by some
// members and not others: the platform is asked only for canonical public keys (a u-coordinate
// below 2^255 - 19, top bit clear), where RFC 7748's function has one answer, and only a non-zero
// result it returns is used. Anything else (a refused import, a low-order point, no platform X25519)
// is left to @noble/curves on the channel's first use, which decides exactly as before.

/** The part of WebCrypto's SubtleCrypto used here (typed here: the core builds without the DOM). */
export interface SubtleX25519 {
  importKey(
    format: "pkcs8" | "raw",
    keyData: ArrayBuffer,
    algorithm: { name: "X25519" },
    extractable: false,
    usages: ["deriveBits"] | [],
  ): Promise<unknown>;
  deriveBits(
    algorithm: { name: "X25519"; public: unknown },
    baseKey: unknown,
    length: 256,
  ): Promise<ArrayBuffer>;
}

export interface SharedSecretDeriver {
  /**
   * Calls `done` exactly once, now or later, with X25519(secretKey, publicKey), or with undefined when the
   * platform did not make it (the caller then makes it in JavaScript); never throws. A callback
   * rather than a promise, so that what runs on the answer runs in the deriver's own event.
   */
  derive(
    secretKey: Uint8Array,
    publicKey: Uint8Array,
    done: (shared: Uint8Array | undefined) => void,
  ): void;
}

const X25519 = { name: "X25519" } as const;
/** RFC 8410's PKCS #8 wrapping of a raw X25519 private key: this prefix, then the 32 bytes. */
const PKCS8_PREFIX = [
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
];

// RFC 7748 section 6.1: Alice's private key, Bob's public key, their shared secret.
const PROBE_SECRET_KEY = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const PROBE_PUBLIC_KEY = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
const PROBE_SHARED = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

/**
 * Whether `u` is a canonical u-coordinate: 32 bytes, little-endian, below p = 2^255 - 19 (so its
 * top bit is clear). Only 2^255 - 19 to 2^255 - 1 fail below the top bit: byte 31 is 0x7f, bytes
 * 30 to 1 are 0xff and byte 0 is at least 0xed.
 */
export function canonicalU(u: Uint8Array): boolean {
  if (u.length !== 32) return false;
  const top = u[31] ?? 0;
  if (top > 0x7f) return false;
  if (top < 0x7f) return true;
  for (let index = 30; index >= 1; index -= 1) if (u[index] !== 0xff) return true;
  return (u[0] ?? 0) < 0xed;
}

class PlatformSharedSecrets implements SharedSecretDeriver {
  /** Our imported private keys, by the raw key's bytes object: one per membership, gone with it. */
  private readonly privateKeys = new WeakMap<Uint8Array, Promise<unknown>>();

  constructor(private readonly subtle: SubtleX25519) {}

  derive(
    secretKey: Uint8Array,
    publicKey: Uint8Array,
    done: (shared: Uint8Array | undefined) => void,
  ): void {
    this.make(secretKey, publicKey).then(done);
  }

  /** Resolves to the shared secret, or undefined; never rejects. */
  async make(secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array | undefined> {
    if (secretKey.length !== 32 || !canonicalU(publicKey)) return undefined;
    // Copied now: the caller's views may change before the platform reads them.
    const publicBytes = publicKey.slice().buffer as ArrayBuffer;
    try {
      const [privateKey, peerKey] = await Promise.all([
        this.privateKeyOf(secretKey),
        this.subtle.importKey("raw", publicBytes, X25519, false, []),
      ]);
      const shared = new Uint8Array(
        await this.subtle.deriveBits({ ...X25519, public: peerKey }, privateKey, 256),
      );
      // WebCrypto refuses an all-zero secret itself; checked again, as @noble/curves does.
      if (shared.length !== 32 || shared.every((byte) => byte === 0)) return undefined;
      return shared;
    } catch {
      return undefined;
    }
  }

  private privateKeyOf(secretKey: Uint8Array): Promise<unknown> {
    let key = this.privateKeys.get(secretKey);
    if (!key) {
      const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
      pkcs8.set(PKCS8_PREFIX);
      pkcs8.set(secretKey, PKCS8_PREFIX.length);
      key = this.subtle.importKey("pkcs8", pkcs8.buffer, X25519, false, ["deriveBits"]);
      // The platform copies what it imports; our copy of the secret goes at once.
      const wipe = () => pkcs8.fill(0);
      key.then(wipe, wipe);
      this.privateKeys.set(secretKey, key);
    }
    return key;
  }
}

/**
 * The platform's X25519, or undefined where it has none or gets RFC 7748's example wrong (the
 * caller then keeps @noble/curves).
 */
export async function platformSharedSecrets(
  subtle: SubtleX25519 | undefined = (globalThis as { crypto?: { subtle?: SubtleX25519 } }).crypto
    ?.subtle,
): Promise<SharedSecretDeriver | undefined> {
  if (!subtle) return undefined;
  const deriver = new PlatformSharedSecrets(subtle);
  const shared = await deriver.make(fromHex(PROBE_SECRET_KEY), fromHex(PROBE_PUBLIC_KEY));
  const expected = fromHex(PROBE_SHARED);
  const right = shared?.every((byte, index) => byte === expected[index]);
  return right ? deriver : undefined;
}

/**
 * A deriver to hand a session at once: the platform's once its probe passes; until then, and where
 * it fails, every answer is undefined (the session makes the X25519 in JavaScript).
 */
export function preferredSharedSecrets(
  platform: Promise<SharedSecretDeriver | undefined> = platformSharedSecrets(),
): SharedSecretDeriver {
  let chosen: SharedSecretDeriver | undefined;
  let settled = false;
  const choosing = platform.then(
    (deriver) => {
      chosen = deriver;
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return {
    derive: (secretKey, publicKey, done) => {
      if (settled) {
        if (chosen) chosen.derive(secretKey, publicKey, done);
        else done(undefined);
        return;
      }
      choosing.then(() => {
        if (chosen) chosen.derive(secretKey, publicKey, done);
        else done(undefined);
      });
    },
  };
}
