// A Random (web/src/core/random.ts) that hands out fixed bytes in order, so a known-answer test can
// make the core seal with the vector's nonces. Asking for another length, or once too often, throws:
// that would mean the core draws randomness the format does not say it draws.
import type { Random } from "../../web/src/core/random.js";

export function fixedRandom(...chunks: Uint8Array[]): Random {
  const queue = [...chunks];
  return (length) => {
    const next = queue.shift();
    if (next === undefined) throw new Error(`fixedRandom: no bytes left for a draw of ${length}`);
    if (next.length !== length) {
      throw new Error(
        `fixedRandom: a draw of ${length} bytes, but the next chunk has ${next.length}`,
      );
    }
    return next.slice();
  };
}
