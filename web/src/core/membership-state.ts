// The signed membership state of an ask-to-join call (docs/admission.md): which member keys are let
// in, which were declined, and the co-hosts the host appointed. Only the host's key (named by the
// invite link) or a co-host it appointed can sign one, and every member keeps the newest valid
// state it has seen, so neither a server nor a member without that authority can admit anyone, nor
// bring back a removed member by replaying an older state. Layout in docs/admission.md.
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { LIMITS } from "../../../protocol/signalling.js";
import { toBase64url } from "./base64url.js";
import { ByteReader } from "./byte-reader.js";
import { concat, equalBytes, u32be, utf8 } from "./bytes.js";
import { CryptoError } from "./crypto-error.js";
import type { CurveOps } from "./curve-ops.js";
import { LABELS } from "./labels.js";

/** First byte of a membership broadcast ('M'); leader broadcasts start with 1, chat with 'C'. */
export const MEMBERSHIP_TAG = 0x4d;
const FORMAT_VERSION = 1;
const KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
export const MAX_COHOSTS = 8;
/** The last version of a grant; the host then appoints afresh (a new grant) and starts over at 1. */
export const MAX_VERSION = 0xffff_ffff;
/** Room capacity is far below this; the limit keeps a state inside one broadcast payload. */
export const MAX_ADMITTED = 1_000;
/** Only the most recent declines are kept: a decline matters to a joiner that is still waiting. */
export const MAX_DECLINED = 64;

/** The host's appointment of co-hosts, signed by the host's key alone. */
export interface CohostGrant {
  /** Grows with every appointment; a state carrying an older grant than one seen is refused. */
  readonly grantVersion: number;
  readonly cohosts: readonly Uint8Array[];
  readonly signature: Uint8Array;
}

export interface MembershipState {
  /** Grows with every change; the highest valid one wins. */
  readonly version: number;
  readonly grant: CohostGrant;
  readonly admitted: readonly Uint8Array[];
  readonly declined: readonly Uint8Array[];
  /** The host's key or one of the grant's co-hosts. */
  readonly signer: Uint8Array;
}

export function isMembershipState(payload: Uint8Array): boolean {
  return payload.length > 0 && payload[0] === MEMBERSHIP_TAG;
}

function grantMessage(roomId: string, grantVersion: number, cohosts: readonly Uint8Array[]) {
  return concat(
    utf8(`${LABELS.cohostGrant}\0${roomId}\0`),
    u32be(grantVersion),
    new Uint8Array([cohosts.length]),
    ...cohosts,
  );
}

function statePrefix(roomId: string): Uint8Array {
  return utf8(`${LABELS.membershipState}\0${roomId}\0`);
}

function checkKeys(keys: readonly Uint8Array[], max: number, what: string): void {
  if (keys.length > max) throw new CryptoError("membership", "bad-length", `too many ${what}`);
  const seen = new Set<string>();
  for (const key of keys) {
    if (key.length !== KEY_BYTES)
      throw new CryptoError("membership", "bad-length", `${what}: not a 32-byte key`);
    const text = toBase64url(key);
    if (seen.has(text)) throw new CryptoError("membership", "bad-body", `${what}: repeated key`);
    seen.add(text);
  }
}

/** The host signs an appointment of co-hosts (an empty list appoints none). */
export function signGrant(
  roomId: string,
  hostSecretKey: Uint8Array,
  grantVersion: number,
  cohosts: readonly Uint8Array[],
  ops?: CurveOps,
): CohostGrant {
  checkKeys(cohosts, MAX_COHOSTS, "co-hosts");
  if (ops) ops.ed25519Signs += 1;
  const signature = ed25519.sign(grantMessage(roomId, grantVersion, cohosts), hostSecretKey);
  return { grantVersion, cohosts: cohosts.map((k) => k.slice()), signature };
}

function encodeBody(state: MembershipState): Uint8Array {
  checkKeys(state.grant.cohosts, MAX_COHOSTS, "co-hosts");
  checkKeys(state.admitted, MAX_ADMITTED, "admitted");
  checkKeys(state.declined, MAX_DECLINED, "declined");
  const admittedCount = state.admitted.length;
  return concat(
    new Uint8Array([MEMBERSHIP_TAG, FORMAT_VERSION]),
    u32be(state.version),
    u32be(state.grant.grantVersion),
    new Uint8Array([state.grant.cohosts.length]),
    ...state.grant.cohosts,
    state.grant.signature,
    new Uint8Array([admittedCount >> 8, admittedCount & 0xff]),
    ...state.admitted,
    new Uint8Array([state.declined.length]),
    ...state.declined,
    state.signer,
  );
}

/** Signs a state with the signer's member key (the host's, or a co-host's named in its grant). */
export function signMembershipState(
  roomId: string,
  signerSecretKey: Uint8Array,
  state: MembershipState,
  ops?: CurveOps,
): Uint8Array {
  if (state.version < 1) throw new RangeError("membership versions start at 1");
  const body = encodeBody(state);
  if (ops) ops.ed25519Signs += 1;
  const signature = ed25519.sign(concat(statePrefix(roomId), body), signerSecretKey);
  const out = concat(body, signature);
  if (out.length > LIMITS.payloadBytes)
    throw new CryptoError("membership", "bad-length", "too large");
  return out;
}

function verifies(signature: Uint8Array, message: Uint8Array, key: Uint8Array, ops?: CurveOps) {
  if (ops) ops.ed25519Verifies += 1;
  try {
    return ed25519.verify(signature, message, key);
  } catch {
    return false;
  }
}

/**
 * Parses and checks a state for the call whose host key is `hostKey`: the grant must be the host's,
 * and the state signed by the host or one of that grant's co-hosts. Throws CryptoError otherwise.
 * Whether it is newer than the state a member holds is `supersedes`'s question.
 */
export function verifyMembershipState(
  roomId: string,
  hostKey: Uint8Array,
  bytes: Uint8Array,
  ops?: CurveOps,
): MembershipState {
  // Size first: nothing larger than a payload is even read.
  if (bytes.length > LIMITS.payloadBytes || bytes.length <= SIGNATURE_BYTES) {
    throw new CryptoError("membership", "bad-length", "impossible size");
  }
  const reader = new ByteReader(bytes.subarray(0, bytes.length - SIGNATURE_BYTES), "membership");
  if (reader.u8() !== MEMBERSHIP_TAG)
    throw new CryptoError("membership", "bad-kind", "not a state");
  if (reader.u8() !== FORMAT_VERSION)
    throw new CryptoError("membership", "bad-version", "unknown version");
  const version = reader.u32();
  const grantVersion = reader.u32();
  const cohostCount = reader.u8();
  if (cohostCount > MAX_COHOSTS)
    throw new CryptoError("membership", "bad-length", "too many co-hosts");
  const cohosts = Array.from({ length: cohostCount }, () => reader.take(KEY_BYTES));
  const grantSignature = reader.take(SIGNATURE_BYTES);
  const admittedCount = reader.u16();
  if (admittedCount > MAX_ADMITTED)
    throw new CryptoError("membership", "bad-length", "too many admitted");
  const admitted = Array.from({ length: admittedCount }, () => reader.take(KEY_BYTES));
  const declinedCount = reader.u8();
  if (declinedCount > MAX_DECLINED)
    throw new CryptoError("membership", "bad-length", "too many declined");
  const declined = Array.from({ length: declinedCount }, () => reader.take(KEY_BYTES));
  const signer = reader.take(KEY_BYTES);
  reader.end();
  if (version < 1) throw new CryptoError("membership", "bad-body", "version 0");
  checkKeys(cohosts, MAX_COHOSTS, "co-hosts");
  checkKeys(admitted, MAX_ADMITTED, "admitted");
  checkKeys(declined, MAX_DECLINED, "declined");
  const isHost = equalBytes(signer, hostKey);
  if (!isHost && !cohosts.some((key) => equalBytes(key, signer))) {
    throw new CryptoError("membership", "bad-signature", "signer is neither host nor co-host");
  }
  // The cheaper check that fails a forgery first: the state's own signature, then the grant's.
  const body = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
  const signature = bytes.subarray(bytes.length - SIGNATURE_BYTES);
  if (!verifies(signature, concat(statePrefix(roomId), body), signer, ops)) {
    throw new CryptoError("membership", "bad-signature", "state signature does not verify");
  }
  if (!verifies(grantSignature, grantMessage(roomId, grantVersion, cohosts), hostKey, ops)) {
    throw new CryptoError("membership", "bad-signature", "grant is not the host's");
  }
  return {
    version,
    grant: { grantVersion, cohosts, signature: grantSignature },
    admitted,
    declined,
    signer,
  };
}

/**
 * Whether `candidate` replaces `current` (docs/admission.md, Which state wins), in this order: the
 * newer grant (the host's latest appointment, so a co-host it dismissed cannot outbid it with any
 * version, and the host is never stuck behind a version a co-host pushed to the end of the range),
 * then the higher version, then, between two states of one version (two authorities changed it at
 * once), the lower digest, so every member settles on the same one whatever order they arrive in.
 */
export function supersedes(
  candidate: { state: MembershipState; bytes: Uint8Array },
  current: { state: MembershipState; bytes: Uint8Array } | undefined,
): boolean {
  if (!current) return true;
  const a = candidate.state;
  const b = current.state;
  if (a.grant.grantVersion !== b.grant.grantVersion)
    return a.grant.grantVersion > b.grant.grantVersion;
  if (a.version !== b.version) return a.version > b.version;
  return compareBytes(sha256(candidate.bytes), sha256(current.bytes)) < 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
