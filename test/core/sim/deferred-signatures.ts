// A signature verifier for the simulator that answers later, on the virtual clock: each check
// answers after a random delay (0 to 3 ms), so a session's frames wait behind it as they do behind
// the platform's check in a browser, and checks that overlap answer in any order.
import {
  type SignatureVerifier,
  verifyInJavaScript,
} from "../../../web/src/core/signature-verifier.js";
import { DeferredAnswers } from "./deferred-answers.js";

export class DeferredSignatures extends DeferredAnswers implements SignatureVerifier {
  verify(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
    done: (valid: boolean) => void,
  ): void {
    const valid = verifyInJavaScript(signature, message, publicKey);
    this.later(() => done(valid));
  }
}
