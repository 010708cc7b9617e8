// The invite link: this page's address with the call secret's link form as the fragment. Browsers
// never send the fragment to a server, so the Worker only ever sees the path (docs/key-schedule.md,
// Derivations).
import {
  type CallSecret,
  CallSecretError,
  decodeCallSecret,
  encodeCallSecret,
  generateCallSecret,
  systemRandom,
} from "../core";

export type LinkState =
  | { kind: "none" }
  | { kind: "valid"; secret: CallSecret; link: string }
  | { kind: "invalid"; reason: string };

function inviteLinkFor(location: Location, secret: CallSecret): string {
  return `${location.origin}${location.pathname}#${encodeCallSecret(secret)}`;
}

/** Reads the call secret from the current fragment; an empty fragment means "no call yet". */
export function readLink(location: Location): LinkState {
  if (location.hash === "" || location.hash === "#") return { kind: "none" };
  try {
    const secret = decodeCallSecret(location.hash);
    return { kind: "valid", secret, link: inviteLinkFor(location, secret) };
  } catch (error) {
    // CallSecretError messages never echo the (possibly secret) input, so they can be shown.
    const reason = error instanceof CallSecretError ? error.message : "the link is not valid";
    return { kind: "invalid", reason };
  }
}

/** Draws a new call secret and puts it in the fragment (replacing, so Back leaves the call page). */
export function startNewCall(location: Location, history: History): LinkState {
  const secret = generateCallSecret(systemRandom);
  const link = inviteLinkFor(location, secret);
  history.replaceState(
    null,
    "",
    `${location.pathname}${location.search}#${encodeCallSecret(secret)}`,
  );
  return { kind: "valid", secret, link };
}
