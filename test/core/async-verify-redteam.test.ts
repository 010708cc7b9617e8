// Red-team tests of the asynchronous broadcast-signature path (signature-verifier.ts,
// inbound-order.ts, call-session.ts onBroadcast, key-transport.ts receiveBroadcastWith,
// broadcast.ts verifyBroadcastWith). Each test asserts the SECURE behaviour: a failing test is a
// hole (or a broken documented promise).
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { verifyBroadcastWith } from "../../web/src/core/broadcast.js";
import { generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import { INBOUND_QUEUE_LIMIT, InboundOrder } from "../../web/src/core/inbound-order.js";
import {
  javascriptVerifier,
  platformSignatureVerifier,
  type SignatureVerifier,
  type SubtleEd25519,
} from "../../web/src/core/signature-verifier.js";
import { seededRandom } from "./sim/seeded-random.js";
import { World } from "./sim/world.js";

const random = seededRandom("async-verify-redteam");
const ROOM = "roomroomroomroomroom00";
const LEADER = "leaderleaderleaderlead";
const leaderKeys = generateCallKeyPairs(random);

/** Counts the checks asked for; answers with the JavaScript check at once. */
function countingVerifier(): SignatureVerifier & { calls: number } {
  const v = {
    calls: 0,
    verify(s: Uint8Array, m: Uint8Array, k: Uint8Array, done: (ok: boolean) => void) {
      v.calls += 1;
      javascriptVerifier.verify(s, m, k, done);
    },
  };
  return v;
}

function manualCheck() {
  let answer: ((then: () => void) => void) | undefined;
  return {
    start: (a: (then: () => void) => void) => {
      answer = a;
    },
    settle: (then: () => void) => answer?.(then),
  };
}

/** What verifyBroadcastWith answers for `bytes`, and how many signature checks it asked for. */
function checksSpentOn(bytes: Uint8Array): { result: unknown; calls: number } {
  const verifier = countingVerifier();
  let result: unknown;
  verifyBroadcastWith(
    verifier,
    { roomId: ROOM, leaderId: LEADER, ed25519PublicKey: leaderKeys.ed25519.publicKey, bytes },
    (r) => {
      result = r;
    },
  );
  return { result, calls: verifier.calls };
}

describe("cost before parsing", () => {
  // docs/key-schedule.md, Checking the signature: a payload that cannot be read is refused
  // without a check.
  it("does not spend a signature check on a payload with an unknown version byte", () => {
    const bytes = new Uint8Array(200);
    bytes[0] = 2; // not BROADCAST_VERSION (1), not chat (0x43), not a membership state (0x4D)
    const { result, calls } = checksSpentOn(bytes);
    expect(result).toBeInstanceOf(Error);
    expect(calls).toBe(0);
  });

  it("does not spend a signature check on a version-1 body that cannot parse", () => {
    const bytes = new Uint8Array(200);
    bytes[0] = 1;
    bytes[1] = 0xee; // no such kind
    const { result, calls } = checksSpentOn(bytes);
    expect(result).toBeInstanceOf(Error);
    expect(calls).toBe(0);
  });
});

describe("inbound order: generations, reentrancy, exceptions", () => {
  it("a stale check's late answer does not release the new connection's held frames", () => {
    const seen: string[] = [];
    const order = new InboundOrder(() => seen.push("overflow"));
    const stale = manualCheck();
    order.run(() => order.hold(stale.start));
    order.run(() => seen.push("old frame"));
    order.reset();
    const fresh = manualCheck();
    order.run(() => order.hold(fresh.start));
    order.run(() => seen.push("new frame"));
    stale.settle(() => seen.push("stale continuation"));
    expect(seen).toEqual([]);
    fresh.settle(() => seen.push("fresh continuation"));
    expect(seen).toEqual(["fresh continuation", "new frame"]);
  });

  it("an answer that races the overflow (same generation, before reset) is ignored", () => {
    const seen: string[] = [];
    const order = new InboundOrder(() => seen.push("overflow"));
    const check = manualCheck();
    order.run(() => order.hold(check.start));
    for (let i = 0; i <= INBOUND_QUEUE_LIMIT; i++) order.run(() => seen.push("q"));
    check.settle(() => seen.push("continuation after overflow"));
    order.run(() => seen.push("late frame of the given-up socket"));
    expect(seen).toEqual(["overflow"]);
  });

  it("a continuation that drops the socket (reset inside settle) runs nothing queued after", () => {
    const seen: string[] = [];
    const order = new InboundOrder(() => {});
    const check = manualCheck();
    order.run(() => order.hold(check.start));
    order.run(() => seen.push("queued of the dead socket"));
    check.settle(() => {
      seen.push("continuation");
      order.reset();
    });
    expect(seen).toEqual(["continuation"]);
  });

  it("a queued step that holds again keeps the rest behind the second check, in order", () => {
    const seen: string[] = [];
    const order = new InboundOrder(() => {});
    const a = manualCheck();
    const b = manualCheck();
    order.run(() => order.hold(a.start));
    order.run(() => seen.push("1"));
    order.run(() => order.hold(b.start));
    order.run(() => seen.push("2"));
    a.settle(() => seen.push("a"));
    // b is started inside drain; answering a twice must not release b's queue.
    a.settle(() => seen.push("a again"));
    expect(seen).toEqual(["a", "1"]);
    b.settle(() => seen.push("b"));
    expect(seen).toEqual(["a", "1", "b", "2"]);
  });

  // Hardening: the SignatureVerifier contract says "never throws", but a check that throws
  // synchronously inside hold() leaves `waiting` true for the rest of the connection.
  it("a check that throws synchronously does not freeze the connection's frames", () => {
    const seen: string[] = [];
    const order = new InboundOrder(() => seen.push("overflow"));
    try {
      order.run(() =>
        order.hold(() => {
          throw new Error("verifier broke its contract");
        }),
      );
    } catch {
      // the signalling client swallows a handler's throw
    }
    order.run(() => seen.push("member-left"));
    expect(seen).toEqual(["member-left"]);
  });
});

describe("the platform verifier's key cache", () => {
  /** A fake platform: a key is an object naming the hex it was imported from. */
  function fakeSubtle(): SubtleEd25519 & { imports: number } {
    const hex = (b: ArrayBuffer) => Buffer.from(b).toString("hex");
    const s = {
      imports: 0,
      async importKey(_f: "raw", data: ArrayBuffer) {
        s.imports += 1;
        await Promise.resolve();
        return { hex: hex(data) };
      },
      async verify(_a: { name: "Ed25519" }, key: unknown, sig: ArrayBuffer, msg: ArrayBuffer) {
        return ed25519.verify(
          new Uint8Array(sig),
          new Uint8Array(msg),
          Buffer.from((key as { hex: string }).hex, "hex"),
        );
      },
    };
    return s as unknown as SubtleEd25519 & { imports: number };
  }

  it("never answers for key B with key A's cached import, across evictions", async () => {
    const subtle = fakeSubtle();
    // The fake passes the probe (it is a correct Ed25519).
    const verifier = await platformSignatureVerifier(subtle);
    if (!verifier) throw new Error("probe refused a correct platform");
    const pairs = Array.from({ length: 40 }, () => ed25519.keygen());
    const message = new Uint8Array([1, 2, 3]);
    const ask = (sig: Uint8Array, pk: Uint8Array) =>
      new Promise<boolean>((r) => verifier.verify(sig, message, pk, r));
    const results: Promise<[boolean, boolean]>[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < pairs.length; i++) {
        const own = pairs[i];
        const next = pairs[(i + 1) % pairs.length];
        if (!own || !next) continue;
        const sig = ed25519.sign(message, own.secretKey);
        // Own key: true. The neighbour's key, asked right after (its import possibly cached or
        // evicted): false.
        results.push(Promise.all([ask(sig, own.publicKey), ask(sig, next.publicKey)]));
      }
    }
    for (const [good, bad] of await Promise.all(results)) {
      expect(good).toBe(true);
      expect(bad).toBe(false);
    }
  });

  it("copies the bytes it checks before any await (a view changed later changes nothing)", async () => {
    const subtle = fakeSubtle();
    const verifier = await platformSignatureVerifier(subtle);
    if (!verifier) throw new Error("probe refused a correct platform");
    const pair = ed25519.keygen();
    const message = new Uint8Array([7, 7, 7]);
    const forged = new Uint8Array(64);
    const real = ed25519.sign(message, pair.secretKey);
    // The caller hands a forged signature, then (before the platform looks) the buffer changes to
    // a valid one: the answer must be for what was handed over.
    const sig = forged.slice();
    const answer = new Promise<boolean>((r) => verifier.verify(sig, message, pair.publicKey, r));
    sig.set(real);
    expect(await answer).toBe(false);
  });
});

function lostMidCheck(stalledAfterDropMs: number): string[] {
  const world = new World({ seed: 71, deferredSignatures: true, adversarial: true });
  const clients = [world.addClient(), world.addClient(), world.addClient()];
  world.run(3_000);
  world.checkConvergence();
  if (!world.signatures) throw new Error("setup");
  // Leader rotations happen while the platform is stalled; member 1 loses its socket with checks
  // pending, rejoins, and then the stale answers arrive.
  world.signatures.stall();
  world.addClient();
  world.run(1_500);
  const victim = clients[1];
  if (!victim) throw new Error("setup");
  world.dropSocket(victim);
  world.run(stalledAfterDropMs);
  world.signatures.release();
  world.quiet(15_000);
  world.checkConvergence();
  return world.violations;
}

describe("answers that arrive late in a call", () => {
  it("a check answered after the socket was lost and a new membership began changes nothing", () => {
    // Released 1 s after the drop (under lockoutGraceMs): the stale answers are ignored.
    expect(lostMidCheck(1_000)).toEqual([]);
  });

  // The same, with the platform's answer taking longer than lockoutGraceMs after the leave was
  // delivered: the member-left waits behind the check, so the lock-out deadline (armed when the
  // frame is handled) starts late and members keep sending with a key the leaver holds.
  it("a check pending longer than the lock-out grace does not delay the leaver's lock-out", () => {
    expect(lostMidCheck(3_000)).toEqual([]);
  });

  it("a leader's broadcast answered after the leader left feeds no key after the leave", () => {
    const world = new World({ seed: 73, deferredSignatures: true, adversarial: true });
    const clients = [world.addClient(), world.addClient(), world.addClient(), world.addClient()];
    world.run(4_000);
    world.checkConvergence();
    if (!world.signatures) throw new Error("setup");
    const leaderId = clients[0]?.session.snapshot().roster.find((r) => r.leader)?.participantId;
    const leader = clients.find((c) => c.session.participantId === leaderId);
    if (!leader) throw new Error("no leader");
    world.signatures.stall();
    // Let the leader's periodic ratchet (5 s in the simulator) go out while members cannot check.
    world.run(5_500);
    world.leave(leader);
    world.run(300);
    world.signatures.release();
    world.quiet(15_000);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
  });

  it("a welcome arriving while a check is pending (reconnect mid-check) is not lost or reordered", () => {
    const world = new World({ seed: 79, deferredSignatures: true, adversarial: true });
    const clients = [world.addClient(), world.addClient(), world.addClient()];
    world.run(3_000);
    if (!world.signatures) throw new Error("setup");
    world.signatures.stall();
    world.run(5_500); // a ratchet is pending at every member
    for (const c of clients.slice(1)) world.dropSocket(c);
    world.run(200);
    world.signatures.release();
    world.run(50);
    world.quiet(15_000);
    world.checkConvergence();
    for (const c of clients) expect(c.session.snapshot().connection.status).toBe("joined");
    expect(world.violations).toEqual([]);
  });
});

describe("a flood that stays under the bound", () => {
  // Every member checks every signed broadcast of any keyed member (not only the leader's), one
  // at a time. A member (or a server writing junk in a member's name) that sends a few thousand
  // broadcasts, fewer than the bound, delays a following member-left by thousands of checks: the
  // lock-out deadline starts only when the leave is handled, not when the socket delivered it.
  it("the lock-out deadline still runs from when the socket delivered the leave", () => {
    const world = new World({ seed: 83, deferredSignatures: true, adversarial: true });
    const honest = [world.addClient(), world.addClient(), world.addClient()];
    world.run(400);
    const mallory = world.addMalicious();
    world.run(3_000);
    world.checkConvergence();
    const leaver = honest[2];
    if (!leaver) throw new Error("setup");
    const junk = new Uint8Array(120);
    junk[0] = 1;
    for (let i = 0; i < 3_000; i++) {
      junk[1] = i & 0xff;
      junk[2] = i >> 8;
      mallory.malicious.broadcastBytes(junk);
    }
    world.leave(leaver);
    world.run(12_000);
    world.quiet(10_000);
    for (const c of honest.slice(0, 2)) expect(c.session.metrics().inboundOverflows).toBe(0); // the bound was never passed
    expect(world.violations).toEqual([]);
  });

  it("a keyed non-leader's signed broadcasts cost members no signature check", () => {
    const world = new World({ seed: 89, deferredSignatures: true, adversarial: true });
    const honest = [world.addClient(), world.addClient()];
    world.run(400);
    const mallory = world.addMalicious();
    world.run(3_000);
    world.checkConvergence();
    const seq = mallory.session.snapshot().roster.find((r) => r.self)?.seq ?? 0;
    const before = honest.map((c) => c.session.metrics().curveOps.ed25519Verifies);
    for (let i = 0; i < 50; i++) {
      mallory.malicious.broadcast({
        kind: "commit",
        epoch: 1_000 + i,
        chainStart: 1,
        leaderSeq: seq,
        keyCheck: new Uint8Array(16),
      });
    }
    world.run(1_000);
    const after = honest.map((c) => c.session.metrics().curveOps.ed25519Verifies);
    // Mallory is not the leader: the schedule refuses these whatever the signature says.
    expect(after.map((n, i) => n - (before[i] ?? 0))).toEqual([0, 0]);
  });
});

describe("the platform's check and the JavaScript one accept the same signatures", () => {
  // docs: "Both are the same RFC 8032 check, so the choice changes nothing a member accepts."
  // A signer with a mixed-order public key (aB + T, T of order 8) can make signatures that pass a
  // cofactored check (ZIP-215, @noble/curves' default) and fail a cofactorless one (OpenSSL).
  it("agrees on a signature under a mixed-order key", async () => {
    const platform = await platformSignatureVerifier();
    if (!platform) return; // no platform Ed25519 here: nothing to compare
    const Point = ed25519.Point;
    const L = Point.Fn.ORDER;
    const T = Point.fromHex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05");
    expect(T.multiply(8n).is0()).toBe(true);
    const mod = (x: bigint) => ((x % L) + L) % L;
    const le = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).reverse().toString("hex") || "0"}`);
    const toLe = (x: bigint) => {
      const out = new Uint8Array(32);
      for (let i = 0; i < 32; i++) out[i] = Number((x >> BigInt(8 * i)) & 0xffn);
      return out;
    };
    const a = mod(le(random(32))) || 1n;
    const A = Point.BASE.multiply(a).add(T).toBytes();
    let disagreements = 0;
    for (let i = 0; i < 16; i++) {
      const message = new Uint8Array([i]);
      const r = mod(le(random(32))) || 1n;
      const R = Point.BASE.multiply(r).toBytes();
      const k = mod(le(sha512(new Uint8Array([...R, ...A, ...message]))));
      const S = mod(r + k * a);
      const sig = new Uint8Array([...R, ...toLe(S)]);
      const js = await new Promise<boolean>((res) =>
        javascriptVerifier.verify(sig, message, A, res),
      );
      const native = await new Promise<boolean>((res) => platform.verify(sig, message, A, res));
      if (js !== native) disagreements += 1;
    }
    expect(disagreements).toBe(0);
  });
});
