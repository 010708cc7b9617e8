// What this browser keeps for an ask-to-join call (docs/admission.md, What a device keeps): the
// host's key on the host's device, this device's member key, and the newest membership state, each
// under the room id in local storage. They never leave the browser. Without storage (a private
// window that refuses it) the keys live as long as the page: a reload then asks to join again.
import {
  type AdmissionConfig,
  type CallSecret,
  fromBase64url,
  generateMemberKey,
  type MemberKeyPair,
  memberKeyFromSecret,
  roomIdOf,
  systemRandom,
  toBase64url,
} from "../core";

const HOST_PREFIX = "hush.host.";
const MEMBER_PREFIX = "hush.member.";
const STATE_PREFIX = "hush.state.";

function read(key: string): string | undefined {
  try {
    return localStorage.getItem(key) ?? undefined;
  } catch {
    return undefined;
  }
}

function write(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // No storage: the key lives as long as the page.
  }
}

function storedKey(key: string): MemberKeyPair | undefined {
  const text = read(key);
  if (!text) return undefined;
  try {
    return memberKeyFromSecret(fromBase64url(text));
  } catch {
    return undefined;
  }
}

/** A new ask-to-join call: its host key, kept on this device only. */
export function createHostKey(secret: CallSecret): MemberKeyPair {
  const host = generateMemberKey(systemRandom);
  write(HOST_PREFIX + roomIdOf(secret), toBase64url(host.secretKey));
  return host;
}

/**
 * The admission settings of a call whose link names `hostKey`: the host key itself on the device
 * that made the call, else this device's member key for the call (made on first use).
 */
export function admissionFor(secret: CallSecret, hostKey: Uint8Array): AdmissionConfig {
  const roomId = roomIdOf(secret);
  const host = storedKey(HOST_PREFIX + roomId);
  const ours = host && toBase64url(host.publicKey) === toBase64url(hostKey) ? host : undefined;
  let member = ours ?? storedKey(MEMBER_PREFIX + roomId);
  if (!member) {
    member = generateMemberKey(systemRandom);
    write(MEMBER_PREFIX + roomId, toBase64url(member.secretKey));
  }
  const state = read(STATE_PREFIX + roomId);
  let storedState: Uint8Array | undefined;
  try {
    storedState = state ? fromBase64url(state) : undefined;
  } catch {
    storedState = undefined;
  }
  return { hostKey, memberKey: member, ...(storedState ? { storedState } : {}) };
}

/** Keeps the newest membership state (the session checks it again when it is read back). */
export function storeMembershipState(secret: CallSecret, stateBytes: string): void {
  write(STATE_PREFIX + roomIdOf(secret), stateBytes);
}
