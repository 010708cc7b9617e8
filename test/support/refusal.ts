// What a core format refused and why: the thrown CryptoError's format and reason code, so a test
// states both in one assertion. Anything else thrown, or nothing, fails the test.
import {
  CryptoError,
  type CryptoErrorCode,
  type CryptoFormat,
} from "../../web/src/core/crypto-error.js";

export interface Refusal {
  readonly format: CryptoFormat;
  readonly code: CryptoErrorCode;
}

export function refusalOf(action: () => unknown): Refusal {
  try {
    action();
  } catch (error) {
    if (error instanceof CryptoError) return { format: error.format, code: error.code };
    throw error;
  }
  throw new Error("expected a CryptoError, but nothing was thrown");
}

/** refusalOf for an action that rejects rather than throws. */
export async function refusalOfAsync(action: () => Promise<unknown>): Promise<Refusal> {
  try {
    await action();
  } catch (error) {
    if (error instanceof CryptoError) return { format: error.format, code: error.code };
    throw error;
  }
  throw new Error("expected a CryptoError, but nothing was thrown");
}
