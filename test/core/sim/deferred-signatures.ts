// A signature verifier for the simulator that answers later, on the virtual clock: each check
// answers after a random delay (0 to 3 ms), so a session's frames wait behind it as they do behind
// the platform's check in a browser, and checks that overlap answer in any order.
import {
  type SignatureVerifier,
  verifyInJavaScript,
} from "../../../web/src/core/signature-verifier.js";
import type { VirtualClock } from "./virtual-clock.js";

export class DeferredSignatures implements SignatureVerifier {
  /** Checks asked and not answered yet. */
  pending = 0;
  /** Answers held back while stalled (a platform that takes its time), in the order asked. */
  private stalled: (() => void)[] | undefined;

  constructor(
    private readonly clock: VirtualClock,
    private readonly delayMs: () => number,
  ) {}

  verify(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
    done: (valid: boolean) => void,
  ): void {
    const valid = verifyInJavaScript(signature, message, publicKey);
    this.pending += 1;
    const answer = () =>
      this.clock.setTimeout(() => {
        this.pending -= 1;
        done(valid);
      }, this.delayMs());
    if (this.stalled) this.stalled.push(answer);
    else answer();
  }

  /** Holds every answer back until release(). */
  stall(): void {
    this.stalled ??= [];
  }

  release(): void {
    const held = this.stalled ?? [];
    this.stalled = undefined;
    for (const answer of held) answer();
  }
}
