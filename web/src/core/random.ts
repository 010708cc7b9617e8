// Randomness is injected everywhere in the core so the simulator can replay a run from a seed. The
// default source is the platform CSPRNG (WebCrypto, present in browsers and Node 20).
export type Random = (length: number) => Uint8Array;

export const systemRandom: Random = (length) => {
  const out = new Uint8Array(length);
  globalThis.crypto.getRandomValues(out);
  return out;
};
