// Tests and benchmarks compare raw group keys across clients (convergence, lock-out, forward
// secrecy). The shipped CallSession has no method that hands out a raw key, so this test-only module
// reads the session's private map of installed keys through the one field it names; only test code
// imports it. If the field is renamed the accessor fails loudly instead of reporting "no key".
import type { CallSession } from "../../web/src/core/call-session.js";

interface InstalledKeys {
  readonly installed: ReadonlyMap<number, Uint8Array>;
}

/** A copy of the group key K_epoch the session has installed, or undefined without one. */
export function groupKeyOf(session: CallSession, epoch: number): Uint8Array | undefined {
  const { installed } = session as unknown as InstalledKeys;
  if (!(installed instanceof Map)) {
    throw new Error(
      "CallSession keeps no `installed` map any more: update test/support/session-keys.ts",
    );
  }
  return installed.get(epoch)?.slice();
}
