// Deterministic "randomness" for the simulator: a SHA-256 counter-mode stream from a seed, so a
// failing run can be replayed from the seed fast-check prints. Never used outside tests.
import { sha256 } from "@noble/hashes/sha2.js";
import type { Random } from "../../../web/src/core/random.js";

export function seededRandom(
  seed: number | string,
): Random & { float(): number; int(n: number): number } {
  let counter = 0;
  let buffer = new Uint8Array(0);
  const prefix = new TextEncoder().encode(`hush-sim:${seed}:`);
  const bytes = (length: number): Uint8Array => {
    const out = new Uint8Array(length);
    for (let filled = 0; filled < length; ) {
      if (buffer.length === 0) {
        const block = new Uint8Array(prefix.length + 4);
        block.set(prefix);
        new DataView(block.buffer).setUint32(prefix.length, counter++);
        buffer = sha256(block);
      }
      const take = Math.min(buffer.length, length - filled);
      out.set(buffer.subarray(0, take), filled);
      buffer = buffer.subarray(take);
      filled += take;
    }
    return out;
  };
  const float = (): number => {
    const b = bytes(4);
    return new DataView(b.buffer).getUint32(0) / 2 ** 32;
  };
  return Object.assign(bytes, { float, int: (n: number) => Math.floor(float() * n) });
}
