// Ed25519 checks by the platform's WebCrypto (browsers, Node, workerd) for the leader's broadcasts.
// Every member checks the leader's signature on each ratchet and commit; the platform does it in
// native code off the main thread, about ten times faster than @noble/curves' JavaScript, so in a
// large call a member's share of a rotation no longer waits on its own signature check (the
// numbers are in the README's benchmarks). Where the platform has no Ed25519, or answers a known
// pair wrongly, the session keeps the JavaScript one.
//
// Both must accept exactly the same signatures, or a leader could split the call: members on one
// browser taking a ratchet the others refuse. Platforms check RFC 8032's cofactorless equation
// ([S]B = R + [k]A); @noble/curves checks the cofactored one, which also takes an R or an A with a
// small-order part. So both verifiers take keys only in the prime-order group (an honest key,
// [a]B, always is), and the JavaScript one also wants R there: with A and R both in that group the
// two equations hold together.
import { ed25519 } from "@noble/curves/ed25519.js";

/** The part of WebCrypto's SubtleCrypto used here (typed here: the core builds without the DOM). */
export interface SubtleEd25519 {
  importKey(
    format: "raw",
    keyData: ArrayBuffer,
    algorithm: { name: "Ed25519" },
    extractable: false,
    usages: ["verify"],
  ): Promise<unknown>;
  verify(
    algorithm: { name: "Ed25519" },
    key: unknown,
    signature: ArrayBuffer,
    data: ArrayBuffer,
  ): Promise<boolean>;
}

export interface SignatureVerifier {
  /**
   * Calls `done` exactly once, now or later, with true when `signature` is `publicKey`'s Ed25519
   * signature over `message`; never throws. A callback rather than a promise, so that what runs on
   * the answer runs in the verifier's own event (a simulator's virtual clock, a bench's meter).
   */
  verify(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
    done: (valid: boolean) => void,
  ): void;
}

const ED25519 = { name: "Ed25519" } as const;
/** Imported keys kept: a call checks the leader's key, and a handful more after hand-overs. */
const KEY_CACHE_LIMIT = 16;

// RFC 8032 section 7.1, test 1: the empty message.
const PROBE_PUBLIC_KEY = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const PROBE_SIGNATURE =
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

/** A fresh ArrayBuffer copy: WebCrypto takes no views over shared or larger buffers. */
function bufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

function hexOf(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** Whether `encoded` is a canonical point of the prime-order group other than the identity. */
function inPrimeOrderGroup(encoded: Uint8Array, allowIdentity = false): boolean {
  try {
    const point = ed25519.Point.fromBytes(encoded, false);
    return (allowIdentity || !point.is0()) && point.isTorsionFree();
  } catch {
    return false;
  }
}

/** Answers for public keys already looked at (a call checks the leader's, and a few more). */
const keyVerdicts = new Map<string, boolean>();

/** inPrimeOrderGroup for a public key, remembered for the last KEY_CACHE_LIMIT keys. */
function usablePublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32) return false;
  const id = hexOf(publicKey);
  let verdict = keyVerdicts.get(id);
  if (verdict === undefined) verdict = inPrimeOrderGroup(publicKey);
  else keyVerdicts.delete(id);
  keyVerdicts.set(id, verdict);
  if (keyVerdicts.size > KEY_CACHE_LIMIT) {
    const oldest = keyVerdicts.keys().next().value;
    if (oldest !== undefined) keyVerdicts.delete(oldest);
  }
  return verdict;
}

class PlatformVerifier implements SignatureVerifier {
  /** Imported public keys, least recently used first. */
  private readonly keys = new Map<string, Promise<unknown>>();

  constructor(private readonly subtle: SubtleEd25519) {}

  verify(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
    done: (valid: boolean) => void,
  ): void {
    this.check(signature, message, publicKey).then(done);
  }

  /** Resolves to the answer; never rejects. */
  async check(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) {
    if (signature.length !== 64 || !usablePublicKey(publicKey)) return false;
    // Copied now: the caller's views may change before the platform reads them.
    const signatureBytes = bufferOf(signature);
    const messageBytes = bufferOf(message);
    try {
      const key = await this.keyOf(publicKey);
      return await this.subtle.verify(ED25519, key, signatureBytes, messageBytes);
    } catch {
      // A key the platform refuses (not a point on the curve) verifies nothing.
      return false;
    }
  }

  private keyOf(publicKey: Uint8Array): Promise<unknown> {
    const id = hexOf(publicKey);
    let key = this.keys.get(id);
    if (key) {
      this.keys.delete(id);
    } else {
      key = this.subtle.importKey("raw", bufferOf(publicKey), ED25519, false, ["verify"]);
      // Refused imports are answered by verify's catch; nothing is left unhandled.
      key.catch(() => {});
    }
    this.keys.set(id, key);
    if (this.keys.size > KEY_CACHE_LIMIT) {
      const oldest = this.keys.keys().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    return key;
  }
}

/**
 * The platform's Ed25519 verifier, or undefined where it has none or gets a known pair wrong (the
 * caller then keeps the JavaScript check).
 */
export async function platformSignatureVerifier(
  subtle: SubtleEd25519 | undefined = (globalThis as { crypto?: { subtle?: SubtleEd25519 } }).crypto
    ?.subtle,
): Promise<SignatureVerifier | undefined> {
  if (!subtle) return undefined;
  const verifier = new PlatformVerifier(subtle);
  const publicKey = fromHex(PROBE_PUBLIC_KEY);
  const signature = fromHex(PROBE_SIGNATURE);
  const altered = signature.slice();
  altered[0] = (altered[0] ?? 0) ^ 1;
  const [good, bad, otherMessage] = await Promise.all([
    verifier.check(signature, new Uint8Array(), publicKey),
    verifier.check(altered, new Uint8Array(), publicKey),
    verifier.check(signature, new Uint8Array([0]), publicKey),
  ]);
  return good && !bad && !otherMessage ? verifier : undefined;
}

/**
 * A verifier to hand a session at once: the platform's once its probe passes, @noble/curves'
 * otherwise (the same check, in JavaScript on this thread).
 */
export function preferredSignatureVerifier(
  platform: Promise<SignatureVerifier | undefined> = platformSignatureVerifier(),
): SignatureVerifier {
  let chosen: SignatureVerifier | undefined;
  const choosing = platform.then(
    (verifier) => {
      chosen = verifier ?? javascriptVerifier;
    },
    () => {
      chosen = javascriptVerifier;
    },
  );
  return {
    verify: (signature, message, publicKey, done) => {
      if (chosen) chosen.verify(signature, message, publicKey, done);
      else
        choosing.then(() =>
          (chosen ?? javascriptVerifier).verify(signature, message, publicKey, done),
        );
    },
  };
}

/**
 * @noble/curves' Ed25519 check, narrowed to what the platforms accept (see the top of this file);
 * false (never a throw) for malformed keys and signatures.
 */
export function verifyInJavaScript(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (signature.length !== 64 || !usablePublicKey(publicKey)) return false;
  try {
    if (!ed25519.verify(signature, message, publicKey, { zip215: false })) return false;
  } catch {
    return false;
  }
  // Checked last: a valid signature's R is the only one that costs this multiplication.
  return inPrimeOrderGroup(signature.subarray(0, 32), true);
}

/** The JavaScript check, answered at once. */
export const javascriptVerifier: SignatureVerifier = {
  verify: (signature, message, publicKey, done) =>
    done(verifyInJavaScript(signature, message, publicKey)),
};
