// The platform's X25519 (shared-secrets.ts) against @noble/curves': the same secret wherever the
// platform is asked, nothing where the two could differ (non-canonical keys), nothing from a
// low-order point, and a channel prepared on the platform that works with one derived in JavaScript.
import { x25519 } from "@noble/curves/ed25519.js";
import { describe, expect, it } from "vitest";
import { EnvelopeChannel } from "../../web/src/core/envelope.js";
import {
  canonicalU,
  platformSharedSecrets,
  type SharedSecretDeriver,
  type SubtleX25519,
} from "../../web/src/core/shared-secrets.js";
import { seededRandom } from "./sim/seeded-random.js";
import { World } from "./sim/world.js";

const P = 2n ** 255n - 19n;

function uOf(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let index = 0; index < 32; index += 1)
    out[index] = Number((value >> BigInt(8 * index)) & 255n);
  return out;
}

/** The u-coordinates of small order (RFC 7748 section 6.1's all-zero outputs), canonical ones. */
const LOW_ORDER = [
  0n,
  1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
  P - 1n,
];

function answerOf(deriver: SharedSecretDeriver, secret: Uint8Array, publicKey: Uint8Array) {
  return new Promise<Uint8Array | undefined>((resolve) =>
    deriver.derive(secret, publicKey, resolve),
  );
}

async function platform(): Promise<SharedSecretDeriver> {
  const deriver = await platformSharedSecrets();
  if (!deriver) throw new Error("Node 20's WebCrypto has X25519");
  return deriver;
}

describe("canonical u-coordinates", () => {
  it("takes everything below 2^255 - 19 and nothing from there on", () => {
    expect(canonicalU(uOf(0n))).toBe(true);
    expect(canonicalU(uOf(9n))).toBe(true);
    expect(canonicalU(uOf(P - 1n))).toBe(true);
    expect(canonicalU(uOf(P - 256n))).toBe(true);
    expect(canonicalU(uOf(P))).toBe(false);
    expect(canonicalU(uOf(P + 1n))).toBe(false);
    expect(canonicalU(uOf(2n ** 255n - 1n))).toBe(false);
    const topBit = uOf(9n);
    topBit[31] = 0x80;
    expect(canonicalU(topBit)).toBe(false);
    expect(canonicalU(new Uint8Array(31))).toBe(false);
    expect(canonicalU(new Uint8Array(33))).toBe(false);
  });
});

describe("the platform's X25519", () => {
  it("makes the secret @noble/curves makes, for random key pairs", async () => {
    const deriver = await platform();
    const random = seededRandom(5);
    for (let round = 0; round < 40; round += 1) {
      const secret = random(32);
      const peer = x25519.getPublicKey(random(32));
      expect(await answerOf(deriver, secret, peer)).toEqual(x25519.getSharedSecret(secret, peer));
    }
  });

  it("answers nothing for low-order points, non-canonical keys and bad lengths", async () => {
    const deriver = await platform();
    const secret = seededRandom(6)(32);
    for (const u of LOW_ORDER) {
      expect(await answerOf(deriver, secret, uOf(u))).toBeUndefined();
      // JavaScript refuses them too, so the channel finds the peer unusable either way.
      expect(() => x25519.getSharedSecret(secret, uOf(u))).toThrow();
    }
    // A non-canonical encoding of a valid point: left to JavaScript, which decides alone.
    const valid = x25519.getPublicKey(seededRandom(7)(32));
    let value = 0n;
    for (let index = 31; index >= 0; index -= 1) value = (value << 8n) | BigInt(valid[index] ?? 0);
    expect(await answerOf(deriver, secret, uOf(value + P))).toBeUndefined();
    const highBit = valid.slice();
    highBit[31] = (highBit[31] ?? 0) | 0x80;
    expect(await answerOf(deriver, secret, highBit)).toBeUndefined();
    expect(await answerOf(deriver, secret, valid.subarray(0, 31))).toBeUndefined();
    expect(await answerOf(deriver, secret.subarray(0, 31), valid)).toBeUndefined();
  });

  it("is not used when the platform gets RFC 7748's example wrong, throws, or has none", async () => {
    const real = globalThis.crypto.subtle as unknown as SubtleX25519;
    const lying: SubtleX25519 = {
      importKey: (...args) => real.importKey(...args),
      deriveBits: async (...args) => {
        const bits = new Uint8Array(await real.deriveBits(...args));
        bits[0] = (bits[0] ?? 0) ^ 1;
        return bits.buffer;
      },
    };
    const throwing: SubtleX25519 = {
      importKey: () => Promise.reject(new Error("NotSupportedError")),
      deriveBits: () => Promise.reject(new Error("NotSupportedError")),
    };
    expect(await platformSharedSecrets(lying)).toBeUndefined();
    expect(await platformSharedSecrets(throwing)).toBeUndefined();
  });
});

describe("a channel prepared on the platform", () => {
  const room = "room-abcdefghijklmnopqrstuv";
  const alice = `${"A".repeat(21)}A`;
  const bob = `${"B".repeat(21)}A`;

  function pair(seed: number) {
    const random = seededRandom(seed);
    const a = random(32);
    const b = random(32);
    const ab = new EnvelopeChannel(room, alice, a, bob, x25519.getPublicKey(b));
    const ba = new EnvelopeChannel(room, bob, b, alice, x25519.getPublicKey(a));
    return { ab, ba, random };
  }

  it("seals what a channel derived in JavaScript opens, both ways", async () => {
    const deriver = await platform();
    const { ab, ba, random } = pair(8);
    await new Promise<void>((resolve) => ab.prepare(deriver, resolve));
    expect(ab.derived && ab.prepared).toBe(true);
    expect(ba.derived).toBe(false);
    const message = new TextEncoder().encode("fresh key");
    expect(ba.open(ab.seal(3, message, random)).plaintext).toEqual(message);
    expect(ab.open(ba.seal(3, message, random)).plaintext).toEqual(message);
    expect(ab.helloSendKey).toEqual(ba.helloReceiveKey);
  });

  it("asks the platform once however many wait, and falls back to JavaScript without an answer", () => {
    const { ab, ba, random } = pair(9);
    const held: ((shared: Uint8Array | undefined) => void)[] = [];
    const silent: SharedSecretDeriver = { derive: (_s, _p, done) => held.push(done) };
    const order: number[] = [];
    ab.prepare(silent, () => order.push(1));
    ab.prepare(silent, () => order.push(2));
    expect(held.length).toBe(1);
    expect(order).toEqual([]);
    held[0]?.(undefined);
    expect(order).toEqual([1, 2]);
    expect(ab.prepared && !ab.derived).toBe(true);
    ab.prepare(silent, () => order.push(3));
    expect(held.length).toBe(1);
    expect(order).toEqual([1, 2, 3]);
    // The keys come from JavaScript on first use, and match the peer's.
    const message = new TextEncoder().encode("x");
    expect(ba.open(ab.seal(1, message, random)).plaintext).toEqual(message);
  });

  it("keeps a peer with a low-order key unusable", async () => {
    const deriver = await platform();
    const random = seededRandom(10);
    const odd = new EnvelopeChannel(room, alice, random(32), bob, uOf(1n));
    await new Promise<void>((resolve) => odd.prepare(deriver, resolve));
    expect(odd.derived).toBe(false);
    expect(odd.ready()).toBe(false);
    expect(odd.derived).toBe(true);
  });
});

describe("a call whose X25519s the platform makes later", () => {
  it("a joiner that leaves while its members' X25519s are pending is asked nothing, and the call goes on", () => {
    const world = new World({ seed: 91, deferredSharedSecrets: true, adversarial: true });
    const members = [world.addClient(), world.addClient(), world.addClient()];
    world.run(3_000);
    world.checkConvergence();
    const secrets = world.sharedSecrets;
    if (!secrets) throw new Error("setup");
    const hellosBefore = members.map((m) => m.session.metrics().hellosSent);
    secrets.stall();
    const joiner = world.addClient();
    world.run(200);
    // Everyone's ask to the joiner waits for its X25519: nothing sent yet.
    expect(members.map((m) => m.session.metrics().hellosSent)).toEqual(hellosBefore);
    world.leave(joiner);
    world.run(500);
    secrets.release();
    world.quiet(10_000);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
    expect(members.map((m) => m.session.metrics().hellosSent)).toEqual(hellosBefore);
    for (const m of members) expect(m.session.snapshot().roster.length).toBe(3);
  });

  it("a platform that answers nothing leaves every X25519 to JavaScript, and the call works", () => {
    const world = new World({ seed: 92, deferredSharedSecrets: true, adversarial: true });
    const secrets = world.sharedSecrets;
    if (!secrets) throw new Error("setup");
    secrets.failing = true;
    const members = [world.addClient(), world.addClient(), world.addClient(), world.addClient()];
    world.run(4_000);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
    expect(secrets.asked).toBeGreaterThan(0);
    expect(secrets.answered).toBe(0);
    for (const m of members) {
      expect(m.session.snapshot().roster.length).toBe(4);
      // One X25519 per peer incarnation, whichever path made it.
      expect(m.session.metrics().curveOps.x25519SharedSecrets).toBe(3);
    }
  });

  it("the platform makes each peer's X25519 once, and the counts stay one per peer", () => {
    const world = new World({ seed: 93, deferredSharedSecrets: true, adversarial: true });
    const members = [world.addClient(), world.addClient(), world.addClient(), world.addClient()];
    world.run(4_000);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
    expect(world.sharedSecrets?.answered).toBe(12);
    for (const m of members) expect(m.session.metrics().curveOps.x25519SharedSecrets).toBe(3);
  });
});
