// Randomness is injected everywhere in the core so the simulator can replay a run from a seed. The
// default source is the platform CSPRNG (WebCrypto, present in browsers and Node 20).
export type Random = (length: number) => Uint8Array;

export const systemRandom: Random = (length) => {
  const out = new Uint8Array(length);
  globalThis.crypto.getRandomValues(out);
  return out;
};

/**
 * A source for values that are random but not secret (envelope nonces): one draw from `random`
 * serves many, since a platform call costs microseconds whatever its length and a fresh rotation
 * seals n-2 envelopes. Never for keys: the pool holds its next values in memory until served.
 */
export function pooledRandom(random: Random, poolBytes = 1536): Random {
  let pool: Uint8Array = new Uint8Array(0);
  let offset = 0;
  return (length) => {
    if (length > poolBytes) return random(length);
    if (offset + length > pool.length) {
      pool = random(poolBytes);
      offset = 0;
    }
    offset += length;
    return pool.slice(offset - length, offset);
  };
}
