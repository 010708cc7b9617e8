// An X25519 deriver for the simulator that answers later, on the virtual clock, as the platform's
// does off a page's thread: each answer comes after a random delay (0 to 3 ms), in any order, and
// `failing` makes it answer nothing (a platform without X25519), leaving the session to JavaScript.
// It takes exactly what the platform deriver takes (canonical keys, a non-zero result).
import { x25519 } from "@noble/curves/ed25519.js";
import { canonicalU, type SharedSecretDeriver } from "../../../web/src/core/shared-secrets.js";
import { DeferredAnswers } from "./deferred-answers.js";

export class DeferredSharedSecrets extends DeferredAnswers implements SharedSecretDeriver {
  asked = 0;
  answered = 0;
  failing = false;

  derive(
    secretKey: Uint8Array,
    publicKey: Uint8Array,
    done: (shared: Uint8Array | undefined) => void,
  ): void {
    this.asked += 1;
    let shared: Uint8Array | undefined;
    if (!this.failing && canonicalU(publicKey)) {
      try {
        shared = x25519.getSharedSecret(secretKey, publicKey);
      } catch {
        shared = undefined;
      }
    }
    this.later(() => {
      if (shared) this.answered += 1;
      done(shared);
    });
  }
}
