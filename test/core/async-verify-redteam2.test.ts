// Red-team tests (round 2) of the asynchronous broadcast-signature path: call-session.ts
// onBroadcast / memberLeft (departure-heard), inbound-order.ts, key-schedule.ts considers,
// signature-verifier.ts. Each test asserts the SECURE behaviour: a failing test is a hole.
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { fromBase64url, toBase64url } from "../../web/src/core/base64url.js";
import { signBroadcast } from "../../web/src/core/broadcast.js";
import { callContextOf } from "../../web/src/core/call-keys.js";
import type { CallSession } from "../../web/src/core/call-session.js";
import { EnvelopeChannel } from "../../web/src/core/envelope.js";
import { INBOUND_QUEUE_LIMIT, InboundOrder } from "../../web/src/core/inbound-order.js";
import { verifyAnnouncement } from "../../web/src/core/announcement.js";
import { makeHello } from "../../web/src/core/liveness.js";
import {
  javascriptVerifier,
  platformSignatureVerifier,
  type SignatureVerifier,
} from "../../web/src/core/signature-verifier.js";
import type { Connection } from "./sim/relay.js";
import { type SimClient, World } from "./sim/world.js";

/** The session's InboundOrder (private): only to assert a test's precondition. */
function holding(session: CallSession): boolean {
  return (session as unknown as { inbound: InboundOrder }).inbound.holding;
}

function connectionOf(client: SimClient): Connection {
  const connection = client.current?.connection;
  if (!connection) throw new Error("client has no connection");
  return connection;
}

function leaderOf(clients: SimClient[]): SimClient {
  const id = clients[0]?.session.snapshot().roster.find((r) => r.leader)?.participantId;
  const leader = clients.find((c) => c.session.participantId === id);
  if (!leader) throw new Error("no leader");
  return leader;
}

/**
 * Runs the clock in small steps until `client` holds frames behind a pending check (the stalled
 * platform is answering nothing), at most `maxMs`.
 */
function runUntilHolding(world: World, client: SimClient, maxMs: number): void {
  for (let t = 0; t < maxMs && !holding(client.session); t += 10) world.run(10);
  if (!holding(client.session)) throw new Error("precondition: no check pending");
}

describe("stack depth of the held queue", () => {
  // inbound-order.ts: a queued broadcast the schedule ignores is answered synchronously; settle()
  // then calls drain() from inside the step that drain() itself is running, so every such frame in
  // the queue adds a level of recursion. A few thousand of them (under INBOUND_QUEUE_LIMIT) blow the
  // stack; the RangeError is swallowed by a `catch {}` and the frame being handled is lost.
  // The last size fills the bound exactly with the two frames behind the checks.
  it("a queue of synchronously answered checks loses no frame (InboundOrder alone)", () => {
    for (const n of [1_000, 2_000, 3_000, INBOUND_QUEUE_LIMIT - 2]) {
      const seen: string[] = [];
      const order = new InboundOrder(() => seen.push("overflow"));
      let release: ((then: () => void) => void) | undefined;
      order.run(() =>
        order.hold((answer) => {
          release = answer;
        }),
      );
      let checks = 0;
      for (let i = 0; i < n; i++)
        order.run(() =>
          order.hold((answer) => {
            checks += 1;
            answer(() => {});
          }),
        );
      order.run(() => seen.push("member-left"));
      order.run(() => seen.push("key envelope"));
      release?.(() => {});
      expect({ n, checks, seen }).toEqual({ n, checks: n, seen: ["member-left", "key envelope"] });
    }
  });

  it("junk broadcasts queued behind a pending check do not make a member lose a leave", () => {
    const world = new World({ seed: 211, deferredSignatures: true, adversarial: true });
    const honest = [world.addClient(), world.addClient(), world.addClient(), world.addClient()];
    world.run(400);
    const mallory = world.addMalicious();
    world.run(3_000);
    world.checkConvergence();
    const signatures = world.signatures;
    if (!signatures) throw new Error("setup");
    const leader = leaderOf(honest);
    const others = honest.filter((c) => c !== leader);
    const [victim, , leaver] = others;
    if (!victim || !leaver) throw new Error("setup");
    // A slow platform: the leader's next ratchet waits for its check at every member.
    signatures.stall();
    runUntilHolding(world, victim, 6_000);
    // 3,900 unreadable broadcasts (under the 4,096 bound): each is refused without a check,
    // answered synchronously, once its turn comes.
    const junk = new Uint8Array(100);
    junk[0] = 1;
    junk[1] = 0xee;
    for (let i = 0; i < 3_900; i++) mallory.malicious.broadcastBytes(junk);
    world.run(200);
    world.leave(leaver);
    world.run(500);
    signatures.release();
    world.quiet(12_000);
    world.checkConvergence();
    const leaverId = leaver.session.participantId;
    for (const member of [leader, ...others.filter((c) => c !== leaver)]) {
      expect(member.session.metrics().inboundOverflows).toBe(0);
      const listed = member.session.snapshot().roster.some((r) => r.participantId === leaverId);
      expect({ client: member.index, listsLeaver: listed }).toEqual({
        client: member.index,
        listsLeaver: false,
      });
    }
    expect(world.violations).toEqual([]);
  });
});

describe("departure-heard and the frames queued before the leave", () => {
  /**
   * A malicious member's hello to `to`, sent unasked (it binds only the two announcements, both
   * known once the member has its welcome).
   */
  function sendUnaskedHello(world: World, mallory: SimClient, to: SimClient): void {
    const keys = mallory.malicious?.keys;
    const connection = mallory.malicious?.connection;
    const target = connectionOf(to);
    if (!keys || !connection || !target.announcement || !target.participantId)
      throw new Error("setup");
    const { roomId } = callContextOf(world.secret);
    const context = callContextOf(world.secret);
    const toAnnouncement = fromBase64url(target.announcement);
    const announced = verifyAnnouncement(context, target.participantId, toAnnouncement);
    const channel = new EnvelopeChannel(
      roomId,
      keys.participantId,
      keys.x25519SecretKey,
      target.participantId,
      announced.x25519PublicKey,
    );
    const hello = makeHello(
      {
        roomId,
        from: keys.participantId,
        to: target.participantId,
        fromAnnouncement: fromBase64url(keys.announcement),
        toAnnouncement,
      },
      channel.helloSendKey,
      { answerMe: false },
    );
    connection.socket.send(
      JSON.stringify({
        type: "send",
        messages: [{ to: target.participantId, payload: toBase64url(hello) }],
      }),
    );
  }

  /** Stalls the platform at a moment a leader ratchet is pending at `victim`, then Mallory joins. */
  function joinAndLeaveBehindSlowCheck(
    seed: number,
    unaskedHello: boolean,
    withholdFresh: boolean,
  ) {
    const world = new World({ seed, deferredSignatures: true, adversarial: true });
    const honest = [world.addClient(), world.addClient(), world.addClient()];
    world.run(3_000);
    world.checkConvergence();
    const signatures = world.signatures;
    if (!signatures) throw new Error("setup");
    const leader = leaderOf(honest);
    const victim = honest.find((c) => c !== leader);
    if (!victim) throw new Error("setup");
    // The platform at the members is slow; the leader's next ratchet waits for its check.
    signatures.stall();
    runUntilHolding(world, victim, 6_000);
    // Mallory joins: the leader (which checks nothing) proves her and hands her the chain at once;
    // at the victim her member-joined, (optionally) an unasked hello of hers and her leave all wait
    // behind the check.
    const mallory = world.addMalicious();
    world.run(300);
    if (unaskedHello) sendUnaskedHello(world, mallory, victim);
    world.run(600);
    expect(mallory.session.snapshot().connection.status).toBe("joined");
    expect(mallory.current?.everHeld.size ?? 0).toBeGreaterThan(0); // she holds the chain
    expect(holding(victim.session)).toBe(true);
    if (withholdFresh) {
      // The server (colluding with Mallory) keeps the leader's re-key from the victim for a while.
      const from = leader.session.participantId;
      const to = connectionOf(victim);
      world.relay.rules.push((conn, frame) =>
        conn === to &&
        frame.from === from &&
        (frame.type === "message" || frame.type === "broadcast")
          ? "hold"
          : undefined,
      );
    }
    world.leave(mallory);
    const leftAt = world.clock.now();
    // The platform answers 4 s after the leave was delivered (longer than lockoutGraceMs).
    world.run(4_000);
    signatures.release();
    return { world, victim, mallory, leftAt };
  }

  // Without any help from Mallory: departure-heard only starts a deadline for her seq; her seq is
  // counted as a holder of our key only when the queued member-left runs. In between, the queued
  // ratchet (her join's) is taken with holders that omit her, so the victim switches to a key she
  // holds after the deadline passed (before the member-left right behind it locks it out again).
  it("no key the leaver holds is switched to after its deadline (queued join ratchet)", () => {
    const { world } = joinAndLeaveBehindSlowCheck(223, false, false);
    world.quiet(10_000);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
  });

  // call-session.ts memberLeft feeds "departure-heard" at delivery, so depart(seq) runs early; but
  // the member-joined of the same seq, queued before the leave, is handled later and
  // key-schedule.ts onMemberJoined does `this.departed.delete(member.seq)` ("here after all"). The
  // in-order member-left then departs the seq again from the time it is handled: the lock-out
  // deadline runs from the check's answer, not from delivery. Mallory gets herself proven in the
  // queue with an unasked hello (it binds only the two announcements); the server withholds the
  // re-key, so the victim keeps sending with a key she holds for another lockoutGraceMs.
  it("a joiner that proves itself and leaves behind a slow check is locked out from delivery", () => {
    const { world, victim, mallory, leftAt } = joinAndLeaveBehindSlowCheck(223, true, true);
    world.run(300);
    const now = world.clock.now();
    expect(now - leftAt).toBeGreaterThan(2_500 + 1_000);
    const key = victim.installed.get(victim.sending);
    const derivable =
      victim.sending !== 0 && key !== undefined && mallory.current
        ? world.canDerive(mallory.current, victim.sending, key)
        : false;
    expect({ sending: victim.sending, derivableByLeaver: derivable }).toEqual({
      sending: victim.sending,
      derivableByLeaver: false,
    });
    world.relay.heal();
    world.relay.rules.length = 0;
    world.quiet(10_000);
    world.checkConvergence();
  });
});

describe("the platform's Ed25519 and the JavaScript one agree on edge cases", () => {
  const Point = ed25519.Point;
  const L = Point.Fn.ORDER;
  const P = 2n ** 255n - 19n;
  const mod = (x: bigint) => ((x % L) + L) % L;
  const le = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).reverse().toString("hex") || "0"}`);
  const toLe = (x: bigint) => {
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = Number((x >> BigInt(8 * i)) & 0xffn);
    return out;
  };
  const challenge = (R: Uint8Array, A: Uint8Array, m: Uint8Array) =>
    mod(le(sha512(new Uint8Array([...R, ...A, ...m]))));
  const ask = (v: SignatureVerifier, sig: Uint8Array, m: Uint8Array, A: Uint8Array) =>
    new Promise<boolean>((res) => v.verify(sig, m, A, res));

  it("agrees on identity R, non-canonical R and A, S >= L, small-order and torsioned points", async () => {
    const platform = await platformSignatureVerifier();
    if (!platform) return; // no platform Ed25519 here: nothing to compare
    const a = 0x1234567890abcdefn;
    const A = Point.BASE.multiply(a).toBytes();
    const m = new Uint8Array([1, 2, 3]);
    const cases: { name: string; sig: Uint8Array; key: Uint8Array }[] = [];
    const sign = (r: bigint, Rbytes: Uint8Array, key = A, secret = a) => {
      const S = mod(r + challenge(Rbytes, key, m) * secret);
      return new Uint8Array([...Rbytes, ...toLe(S)]);
    };
    // An honest signature.
    const r = 987654321n;
    const R = Point.BASE.multiply(r).toBytes();
    const good = sign(r, R);
    cases.push({ name: "honest", sig: good, key: A });
    // r = 0: R is the identity, S = k·a (a malicious leader may sign so).
    const identity = Point.ZERO.toBytes();
    cases.push({ name: "identity R", sig: sign(0n, identity), key: A });
    // The identity with its sign bit set, and encoded non-canonically (y = 1 + p).
    const negZero = identity.slice();
    negZero[31] = (negZero[31] ?? 0) | 0x80;
    cases.push({ name: "identity R, sign bit", sig: sign(0n, negZero), key: A });
    cases.push({ name: "identity R, y = p + 1", sig: sign(0n, toLe(P + 1n)), key: A });
    // S + L, S + 2^253 (unreduced scalars).
    const S = le(good.subarray(32));
    cases.push({ name: "S + L", sig: new Uint8Array([...R, ...toLe(S + L)]), key: A });
    cases.push({ name: "S = L", sig: new Uint8Array([...R, ...toLe(L)]), key: A });
    // R with a small-order part, S made for it.
    const T = Point.fromHex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05");
    const RT = Point.BASE.multiply(r).add(T).toBytes();
    cases.push({ name: "torsioned R", sig: sign(r, RT), key: A });
    // Small-order keys (order 1, 2, 4, 8) with the signatures a cofactored check takes.
    const order2 = toLe(P - 1n); // (0, -1)
    for (const [name, key] of [
      ["identity A", identity],
      ["order-2 A", order2],
      ["order-8 A", T.toBytes()],
    ] as const) {
      cases.push({ name, sig: new Uint8Array([...identity, ...toLe(0n)]), key });
      cases.push({ name: `${name}, honest R`, sig: sign(r, R, key, 0n), key });
    }
    // A non-canonical key: A's y + p when y < 19 (only tiny y values have one).
    for (let y = 0n; y < 19n; y++) {
      const key = toLe(y + P);
      cases.push({ name: `A = ${y} + p`, sig: sign(r, R, key, 0n), key });
    }
    // A torsioned honest key (aB + T).
    const AT = Point.BASE.multiply(a).add(T).toBytes();
    cases.push({ name: "torsioned A", sig: sign(r, R, AT, a), key: AT });
    const disagreements: string[] = [];
    for (const c of cases) {
      const js = await ask(javascriptVerifier, c.sig, m, c.key);
      const native = await ask(platform, c.sig, m, c.key);
      if (js !== native) disagreements.push(`${c.name}: js=${js} platform=${native}`);
    }
    expect(await ask(javascriptVerifier, good, m, A)).toBe(true);
    expect(disagreements).toEqual([]);
  });
});

describe("a forged leader broadcast ahead of the genuine one", () => {
  // The server writes a broadcast in the leader's name for the very epoch the leader's real ratchet
  // will take, with a bad signature, right before it: the forgery costs a check and is refused; the
  // genuine one, right behind it, must still be taken (nothing remembers the forged epoch).
  it("does not make a member drop the leader's genuine ratchet", () => {
    const world = new World({ seed: 227, deferredSignatures: true, adversarial: true });
    const honest = [world.addClient(), world.addClient(), world.addClient()];
    world.run(3_000);
    world.checkConvergence();
    const leader = leaderOf(honest);
    const victim = honest.find((c) => c !== leader);
    if (!victim) throw new Error("setup");
    const epoch = victim.sending;
    const seq = leader.session.snapshot().roster.find((r) => r.self)?.seq ?? 0;
    const { roomId } = callContextOf(world.secret);
    const forgedKey = ed25519.utils.randomSecretKey();
    for (const kind of ["ratchet", "commit"] as const) {
      const bytes = signBroadcast(roomId, leader.session.participantId, forgedKey, {
        kind,
        epoch: epoch + 1,
        chainStart: 1,
        leaderSeq: seq,
        keyCheck: new Uint8Array(16),
      });
      world.relay.deliver(connectionOf(victim), {
        type: "broadcast",
        from: leader.session.participantId,
        payload: toBase64url(bytes),
      });
    }
    const requestsBefore = victim.session.metrics().envelopesSent["key-request"];
    world.run(6_000); // the leader's periodic ratchet (every 5 s) follows
    world.checkConvergence();
    expect(victim.sending).toBeGreaterThan(epoch);
    // Taken from the broadcast itself: no key request needed to catch up.
    expect(victim.session.metrics().envelopesSent["key-request"]).toBe(requestsBefore);
    expect(world.violations).toEqual([]);
  });
});
