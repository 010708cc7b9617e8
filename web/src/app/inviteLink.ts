// The invite link: this page's address with the call secret's link form as the fragment (and, for
// an ask-to-join call, the host's public key after a dot). Browsers never send the fragment to a
// server, so the Worker only ever sees the path (docs/key-schedule.md, Derivations; docs/admission.md).
import {
  type CallSecret,
  CallSecretError,
  decodeInvite,
  encodeInvite,
  generateCallSecret,
  type Invite,
  systemRandom,
} from "../core";
import { createHostKey } from "./admissionKeys";

export type LinkState =
  | { kind: "none" }
  | { kind: "valid"; secret: CallSecret; hostKey?: Uint8Array; link: string }
  | { kind: "invalid"; reason: string };

function inviteLinkFor(location: Location, invite: Invite): string {
  return `${location.origin}${location.pathname}#${encodeInvite(invite)}`;
}

/** Reads the call secret from the current fragment; an empty fragment means "no call yet". */
export function readLink(location: Location): LinkState {
  if (location.hash === "" || location.hash === "#") return { kind: "none" };
  try {
    const invite = decodeInvite(location.hash);
    return { kind: "valid", ...invite, link: inviteLinkFor(location, invite) };
  } catch (error) {
    // CallSecretError messages never echo the (possibly secret) input, so they can be shown.
    const reason = error instanceof CallSecretError ? error.message : "the link is not valid";
    return { kind: "invalid", reason };
  }
}

/**
 * Draws a new call secret (and for an ask-to-join call a host key, kept on this device) and puts it
 * in the fragment (replacing, so Back leaves the call page).
 */
export function startNewCall(location: Location, history: History, askToJoin = false): LinkState {
  const secret = generateCallSecret(systemRandom);
  const invite: Invite = askToJoin
    ? { secret, hostKey: createHostKey(secret).publicKey }
    : { secret };
  const link = inviteLinkFor(location, invite);
  history.replaceState(null, "", `${location.pathname}${location.search}#${encodeInvite(invite)}`);
  return { kind: "valid", ...invite, link };
}
