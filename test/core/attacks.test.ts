// Issue 9's core-level attacks (items 1, 2, 5, 6, and the stalled join of item 3), each written as
// the attacker would run it on the simulator: real CallSessions, a relay that lies about membership,
// and a member running modified code. Each test asserts the outcome the issue demands; against a
// core without the fixes they fail with the attack's success as the observed value.
import { describe, expect, it } from "vitest";
import { createAnnouncement } from "../../web/src/core/announcement.js";
import { toBase64url } from "../../web/src/core/base64url.js";
import { callContextOf, generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import { keyCheckOf, ratchetGroupKey } from "../../web/src/core/identifiers.js";
import { LOOKAHEAD_RATCHETS } from "../../web/src/core/key-store.js";
import { DEFAULT_RECONNECT_POLICY } from "../../web/src/core/signalling-client.js";
import { groupKeyOf } from "../support/session-keys.js";
import { keyDelivery } from "./sim/malicious.js";
import type { Connection, ServerFrame } from "./sim/relay.js";
import {
  EPOCH_STEP_BOUND,
  type Incarnation,
  isEnvelope,
  LOCKOUT_DEADLINE_MS,
  type SimClient,
  World,
} from "./sim/world.js";

const U32_MAX = 0xffff_ffff;
/** Time for the fixed core to stop, ask and settle after the deadline (delivery, key requests). */
const SETTLE_MS = 3_000;
/** The signalling client's join timeout once it has one (issue 9 item 3), else 10 s. */
const JOIN_TIMEOUT_MS =
  (DEFAULT_RECONNECT_POLICY as Partial<{ joinTimeoutMs: number }>).joinTimeoutMs ?? 10_000;

interface Call {
  readonly world: World;
  readonly honest: SimClient[];
  readonly attacker: SimClient | undefined;
}

/** `n` honest members (the first is the leader), then optionally one malicious member, all keyed. */
function call(
  seed: number,
  n: number,
  options: { malicious?: boolean; ratchetIntervalMs?: number } = {},
): Call {
  const world = new World({
    seed,
    adversarial: true,
    schedule: options.ratchetIntervalMs ? { ratchetIntervalMs: options.ratchetIntervalMs } : {},
  });
  const honest: SimClient[] = [];
  for (let i = 0; i < n; i++) {
    honest.push(world.addClient());
    world.run(1_000);
  }
  const attacker = options.malicious ? world.addMalicious() : undefined;
  world.run(3_000);
  for (const client of [...honest, ...(attacker ? [attacker] : [])]) {
    if (client.sending === 0) throw new Error(`setup: client ${client.index} has no key`);
  }
  if (attacker && !attacker.malicious?.keys) throw new Error("setup: attacker has no key pairs");
  return { world, honest, attacker };
}

function connectionOf(client: SimClient): Connection {
  const connection = client.current?.connection;
  if (!connection) throw new Error(`client ${client.index} was never admitted`);
  return connection;
}

function idOf(client: SimClient): string {
  return client.session.participantId;
}

function seqOf(client: SimClient): number {
  return connectionOf(client).seq ?? 0;
}

function incarnationOf(client: SimClient): Incarnation {
  const incarnation = client.current;
  if (!incarnation) throw new Error(`client ${client.index} was never admitted`);
  return incarnation;
}

/** What a member sends with right now: epoch, and whether `leaver` can derive that key. */
function sendingState(world: World, client: SimClient, leaver: SimClient) {
  const key = client.installed.get(client.sending);
  return {
    client: client.index,
    epoch: client.sending,
    leaverCanDerive:
      client.sending !== 0 &&
      key !== undefined &&
      world.canDerive(incarnationOf(leaver), client.sending, key),
  };
}

/** The epochs `client` accepts frames under (holds for decryption) that `leaver` can derive. */
function acceptedFromLeaver(world: World, client: SimClient, leaver: SimClient): number[] {
  return [...client.installed]
    .filter(([epoch, key]) => world.canDerive(incarnationOf(leaver), epoch, key))
    .map(([epoch]) => epoch);
}

function highestEpoch(client: SimClient): number {
  return Math.max(client.sending, ...client.installed.keys());
}

function honestHighest(clients: readonly SimClient[]): number {
  return Math.max(...clients.map(highestEpoch));
}

function keyRequestsOf(client: SimClient): number {
  return client.session.metrics().envelopesSent["key-request"];
}

function fingerprint(client: SimClient): string {
  return JSON.stringify([client.sending, [...client.installed].sort((a, b) => a[0] - b[0])]);
}

/** A random group key for forgeries (from the world's seeded stream, so runs replay). */
function madeUpKey(world: World): Uint8Array {
  return world.random(32);
}

/** After `leaver` left: every remaining honest member sends with a key it cannot derive. */
function expectLockedOut(world: World, remaining: readonly SimClient[], leaver: SimClient): void {
  expect(remaining.map((c) => sendingState(world, c, leaver))).toEqual(
    remaining.map((c) => ({ client: c.index, epoch: expect.any(Number), leaverCanDerive: false })),
  );
  for (const client of remaining) expect(client.sending, `client ${client.index}`).not.toBe(0);
}

describe("issue 9 attack 1: epoch pinning by a member", () => {
  it("control: the attacker's forged envelopes and broadcasts verify (so refusals below are policy)", () => {
    const { world, honest, attacker } = call(101, 2, {
      malicious: true,
      ratchetIntervalMs: 600_000,
    });
    if (!attacker?.malicious) throw new Error("setup");
    const [leader] = honest;
    if (!leader) throw new Error("setup");
    const rejectedBefore = leader.session.metrics();
    const epoch = leader.sending;
    attacker.malicious.sendKeyMessage(idOf(leader), { type: "key-request", epoch, have: epoch });
    attacker.malicious.broadcast({
      kind: "ratchet",
      epoch,
      chainStart: 1,
      leaderSeq: seqOf(attacker),
      keyCheck: keyCheckOf(madeUpKey(world)),
    });
    world.run(500);
    const after = leader.session.metrics();
    expect({
      envelopesRejected: after.envelopesRejected,
      broadcastsRejected: after.broadcastsRejected,
    }).toEqual({
      envelopesRejected: rejectedBefore.envelopesRejected,
      broadcastsRejected: rejectedBefore.broadcastsRejected,
    });
  });

  it.each([
    ["2^32-1", () => U32_MAX],
    ["2^32-2", () => U32_MAX - 1],
    ["2^31", () => 2 ** 31],
    ["2^31-1", () => 2 ** 31 - 1],
    ["current + 1000", (current: number) => current + 1_000],
  ])(
    "a key envelope claiming epoch %s is refused, and a later leave still locks the leaver out",
    (_, epochOf) => {
      const { world, honest, attacker } = call(102, 3, { malicious: true });
      const [leader, member, leaver] = honest;
      if (!attacker?.malicious || !leader || !member || !leaver) throw new Error("setup");
      const before = honestHighest(honest);
      const epoch = epochOf(before);
      for (const peer of attacker.malicious.peers()) {
        attacker.malicious.sendKeyMessage(
          peer,
          keyDelivery({
            epoch,
            groupKey: madeUpKey(world),
            kind: "current",
            chainStart: epoch,
            leaderSeq: seqOf(attacker),
          }),
        );
      }
      world.run(1_000);
      expect(honestHighest(honest)).toBeLessThanOrEqual(before + EPOCH_STEP_BOUND);

      // The pinned schedule must still work: an exception must not have stopped the leader's timers.
      world.leave(leaver);
      world.run(LOCKOUT_DEADLINE_MS + SETTLE_MS);
      expectLockedOut(world, [leader, member], leaver);
      world.checkConvergence();
      expect(world.violations).toEqual([]);
    },
  );

  it("an ack whose 'have' epoch is 2^32-1 is refused; the leader keeps rotating and locks out two later leavers", () => {
    const { world, honest, attacker } = call(103, 4, { malicious: true });
    const [leader, member, first, second] = honest;
    if (!attacker?.malicious || !leader || !member || !first || !second) throw new Error("setup");
    const malicious = attacker.malicious;
    let forged = 0;
    malicious.onKeyMessage = ({ from, message }) => {
      if (from !== idOf(leader) || message.type !== "key" || message.kind !== "fresh") return;
      forged += 1;
      // Sent before the session's own ack, which then reuses the counter and is refused.
      malicious.sendKeyMessage(from, { type: "ack", epoch: message.epoch, have: U32_MAX });
    };
    const before = honestHighest(honest);
    world.leave(first);
    world.run(LOCKOUT_DEADLINE_MS + SETTLE_MS);
    expect(forged).toBeGreaterThan(0);
    expect(honestHighest([leader, member, second])).toBeLessThanOrEqual(
      before + 2 * EPOCH_STEP_BOUND,
    );
    expectLockedOut(world, [leader, member, second], first);

    world.leave(second);
    world.run(LOCKOUT_DEADLINE_MS + SETTLE_MS);
    expectLockedOut(world, [leader, member], second);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
  });

  it.each([
    ["epoch 2^32-1, have 2^32-1", U32_MAX, U32_MAX],
    ["epoch 2^32-1, have 0", U32_MAX, 0],
    ["epoch 2^31, have 2^31", 2 ** 31, 2 ** 31],
  ])(
    "a key request with %s moves no epoch and a later leave still locks the leaver out",
    (_, epoch, have) => {
      const { world, honest, attacker } = call(104, 3, { malicious: true });
      const [leader, member, leaver] = honest;
      if (!attacker?.malicious || !leader || !member || !leaver) throw new Error("setup");
      const before = honestHighest(honest);
      attacker.malicious.sendKeyMessage(idOf(leader), { type: "key-request", epoch, have });
      world.run(500);
      world.leave(leaver);
      world.run(LOCKOUT_DEADLINE_MS + SETTLE_MS);
      expect(honestHighest([leader, member])).toBeLessThanOrEqual(before + EPOCH_STEP_BOUND);
      expectLockedOut(world, [leader, member], leaver);
      world.checkConvergence();
      expect(world.violations).toEqual([]);
    },
  );

  describe("rival leader claims: keys and broadcasts from a non-leader are ignored", () => {
    const claims: [string, (world: World, attacker: SimClient, current: number) => void][] = [
      [
        "a 'current' key for the next epoch",
        (world, attacker, current) => {
          for (const peer of attacker.malicious?.peers() ?? []) {
            attacker.malicious?.sendKeyMessage(
              peer,
              keyDelivery({
                epoch: current + 1,
                groupKey: madeUpKey(world),
                kind: "current",
                chainStart: current + 1,
                leaderSeq: seqOf(attacker),
              }),
            );
          }
        },
      ],
      [
        "a fresh key two epochs ahead, then its commit",
        (world, attacker, current) => {
          const groupKey = madeUpKey(world);
          const epoch = current + 2;
          for (const peer of attacker.malicious?.peers() ?? []) {
            attacker.malicious?.sendKeyMessage(
              peer,
              keyDelivery({
                epoch,
                groupKey,
                kind: "fresh",
                chainStart: epoch,
                leaderSeq: seqOf(attacker),
              }),
            );
          }
          world.run(200);
          attacker.malicious?.broadcast({
            kind: "commit",
            epoch,
            chainStart: epoch,
            leaderSeq: seqOf(attacker),
            keyCheck: keyCheckOf(groupKey),
          });
        },
      ],
      [
        "a ratchet broadcast to the next epoch with a correct key check",
        (_, attacker, current) => {
          const held = groupKeyOf(attacker.session, current);
          if (!held) throw new Error("setup: attacker lacks the current key");
          attacker.malicious?.broadcast({
            kind: "ratchet",
            epoch: current + 1,
            chainStart: 1,
            leaderSeq: seqOf(attacker),
            keyCheck: keyCheckOf(ratchetGroupKey(held)),
          });
        },
      ],
    ];
    it.each(claims)("%s changes no honest member's keys", (_, claim) => {
      // No periodic rotation in the window, so any change is the claim's doing.
      const { world, honest, attacker } = call(105, 3, {
        malicious: true,
        ratchetIntervalMs: 600_000,
      });
      if (!attacker) throw new Error("setup");
      const current = honestHighest(honest) - LOOKAHEAD_RATCHETS; // the look-ahead sits above
      const before = honest.map(fingerprint);
      claim(world, attacker, Math.max(...honest.map((c) => c.sending), current));
      world.run(1_000);
      expect(honest.map(fingerprint)).toEqual(before);
      expect(world.violations).toEqual([]);
    });
  });
});

describe("issue 9 attack 2: withheld fresh key", () => {
  it("a member whose fresh key and commit are withheld sends nothing after the deadline, asks the leader, and recovers when the relay behaves", () => {
    const { world, honest } = call(201, 3);
    const [leader, member, leaver] = honest;
    if (!leader || !member || !leaver) throw new Error("setup");
    const target = connectionOf(member);
    // The server drops everything the leader sends to B (fresh key, commit, answers), nothing else.
    world.relay.rules.push((to, frame) =>
      to === target &&
      (frame.type === "message" || frame.type === "broadcast") &&
      frame.from === idOf(leader)
        ? "drop"
        : undefined,
    );
    const requestsBefore = keyRequestsOf(member);
    world.leave(leaver);
    world.run(LOCKOUT_DEADLINE_MS - 200);
    // Before the deadline the member still holds the chain the leaver knows (it may be late)...
    expect(acceptedFromLeaver(world, member, leaver).length).toBeGreaterThan(0);
    world.run(400);
    expect(sendingState(world, member, leaver)).toEqual({
      client: member.index,
      epoch: 0,
      leaverCanDerive: false,
    });
    // ...and from the deadline on it accepts no frame under it either: a leaver with the SFU's
    // help would otherwise get media accepted in another member's name for as long as the server
    // keeps the fresh key from this member.
    expect(acceptedFromLeaver(world, member, leaver)).toEqual([]);
    world.run(SETTLE_MS);
    expect(acceptedFromLeaver(world, member, leaver)).toEqual([]);
    expect(keyRequestsOf(member)).toBeGreaterThan(requestsBefore);
    expect(sendingState(world, member, leaver).leaverCanDerive).toBe(false);

    world.relay.heal();
    world.run(10_000);
    expectLockedOut(world, [leader, member], leaver);
    expect(member.installed.get(member.sending)).toBe(leader.installed.get(leader.sending));
    world.checkConvergence();
    expect(world.violations).toEqual([]);
  });

  it("a member that sees a leave the leader never hears of sends nothing after the deadline, asks the leader, and recovers once the leader hears of it", () => {
    const { world, honest } = call(202, 3);
    const [leader, member, leaver] = honest;
    if (!leader || !member || !leaver) throw new Error("setup");
    const leaderConnection = connectionOf(leader);
    world.relay.rules.push((to, frame) =>
      to === leaderConnection &&
      frame.type === "member-left" &&
      frame.participantId === idOf(leaver)
        ? "hold"
        : undefined,
    );
    const requestsBefore = keyRequestsOf(member);
    world.leave(leaver);
    world.run(LOCKOUT_DEADLINE_MS + 200);
    expect(sendingState(world, member, leaver)).toEqual({
      client: member.index,
      epoch: 0,
      leaverCanDerive: false,
    });
    // The leader's answer to B's request is the key the leaver holds: B must not take it.
    world.run(4 * SETTLE_MS);
    expect(keyRequestsOf(member)).toBeGreaterThan(requestsBefore);
    expect(sendingState(world, member, leaver).leaverCanDerive).toBe(false);

    world.relay.heal();
    world.run(10_000);
    expectLockedOut(world, [leader, member], leaver);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
  });
});

describe("issue 9 attack 5: replayed announcements", () => {
  /** Every honest current member: the recording is not verified, listed, or the leader. */
  function expectNeverVerified(world: World, honest: readonly SimClient[], recording: string) {
    for (const client of honest) {
      const roster = client.session.snapshot().roster;
      expect({
        client: client.index,
        verified: client.session.isVerified(recording),
        listed: roster.some((entry) => entry.participantId === recording),
      }).toEqual({ client: client.index, verified: false, listed: false });
    }
    expect(
      world.relay.collectedForReplayed.filter((e) => e.to === recording && isEnvelope(e.payload)),
    ).toEqual([]);
  }

  it("a member who left in this room life, replayed by the server, is never verified and gets no envelope", () => {
    const { world, honest } = call(501, 4);
    const [leader, member, other, recorded] = honest;
    if (!leader || !member || !other || !recorded) throw new Error("setup");
    world.leave(recorded);
    world.run(LOCKOUT_DEADLINE_MS + SETTLE_MS);
    const admission = world.relay.admissions.find((a) => a.participantId === idOf(recorded));
    if (!admission) throw new Error("setup: no recording");
    world.relay.replayAnnouncement(admission, 1_000);
    world.run(5_000);
    expectNeverVerified(world, [leader, member, other], admission.participantId);
    expect(world.violations).toEqual([]);
  });

  it.each([
    ["a seq above everyone's", () => 1_000],
    ["its own seq from that life (equal to today's leader's)", (seq: number) => seq],
  ])(
    "an announcement from an earlier life of the room, replayed with %s, is never verified and gets no envelope",
    (_, seqOf) => {
      const world = new World({ seed: 502, adversarial: true });
      const earlier = [world.addClient(), world.addClient()];
      world.run(3_000);
      for (const client of earlier) world.leave(client);
      world.run(2_000);
      expect(world.relay.life).toBe(2);
      const honest = [world.addClient(), world.addClient(), world.addClient()];
      for (let i = 0; i < 3; i++) world.run(1_000);
      world.run(3_000);
      const admission = world.relay.admissions.find((a) => a.life === 1);
      if (!admission) throw new Error("setup: no recording");
      world.relay.replayAnnouncement(admission, seqOf(admission.seq));
      world.run(5_000);
      expectNeverVerified(world, honest, admission.participantId);
      world.checkConvergence();
      expect(world.violations).toEqual([]);
    },
  );

  it("a recording replayed with the lowest seq never becomes leader: a later leave still locks the leaver out", () => {
    const { world, honest } = call(503, 4);
    const [leader, member, recorded, leaver] = honest;
    if (!leader || !member || !recorded || !leaver) throw new Error("setup");
    world.leave(recorded);
    world.run(LOCKOUT_DEADLINE_MS + SETTLE_MS);
    const admission = world.relay.admissions.find((a) => a.participantId === idOf(recorded));
    if (!admission) throw new Error("setup: no recording");
    world.relay.replayAnnouncement(admission, 0);
    world.run(3_000);
    for (const client of [leader, member, leaver]) {
      const leaderEntry = client.session.snapshot().roster.find((entry) => entry.leader);
      expect({ client: client.index, leader: leaderEntry?.participantId }).toEqual({
        client: client.index,
        leader: idOf(leader),
      });
    }
    world.leave(leaver);
    world.run(LOCKOUT_DEADLINE_MS + SETTLE_MS);
    expectLockedOut(world, [leader, member], leaver);
    expectNeverVerified(world, [leader, member], admission.participantId);
    expect(world.violations).toEqual([]);
  });
});

describe("issue 9 attack 6: hardening", () => {
  it("a fake leave-and-rejoin with the same id and announcement resets no replay state: the earlier incarnation's envelopes are refused", () => {
    const { world, honest, attacker } = call(601, 3, { malicious: true });
    const [leader, , leaver] = honest;
    if (!attacker?.malicious || !leader || !leaver) throw new Error("setup");
    // A fresh key makes the attacker's session ack to the leader: envelopes the server records.
    world.leave(leaver);
    world.run(LOCKOUT_DEADLINE_MS + SETTLE_MS);
    const leaderConnection = connectionOf(leader);
    const recorded = world.relay.recorded
      .filter(
        (r) =>
          r.to === leaderConnection &&
          r.frame.type === "message" &&
          r.frame.from === idOf(attacker) &&
          isEnvelope(String(r.frame.payload)),
      )
      .map((r) => r.frame);
    expect(recorded.length).toBeGreaterThan(0);

    world.leave(attacker);
    world.run(2_000);
    attacker.malicious.rejoinWithOldAnnouncement(attacker.index, world.socketUrl());
    world.run(2_000);
    expect(world.relay.members().some((m) => m.participantId === idOf(attacker))).toBe(true);

    const rejectedBefore = leader.session.metrics().envelopesRejected;
    for (const frame of recorded) world.relay.dispatch(connectionOf(leader), frame);
    expect(leader.session.metrics().envelopesRejected - rejectedBefore).toBe(recorded.length);
  });

  it("a welcome that lists our own id is refused: no second entry under our id, no envelope to ourselves, the real leader stays leader", () => {
    const { world, honest } = call(602, 3);
    const [leader, member, victim] = honest;
    if (!leader || !member || !victim) throw new Error("setup");
    const earlier = world.relay.admissions.find((a) => a.participantId === idOf(victim));
    if (!earlier) throw new Error("setup");
    const toSelf: string[] = [];
    world.sentListeners.push((client, _, data) => {
      if (client !== victim) return;
      const frame = JSON.parse(data) as { messages?: { to: string }[] };
      for (const item of frame.messages ?? []) if (item.to === idOf(victim)) toSelf.push(data);
    });
    let poisoned = 0;
    // One poisoned welcome: the victim's old announcement as a member with the lowest seq.
    world.relay.rules.push((to, frame): ServerFrame | undefined => {
      if (frame.type !== "welcome" || poisoned > 0 || to.participantId !== idOf(victim)) return;
      poisoned += 1;
      const members = frame.members as unknown[];
      return {
        ...frame,
        members: [
          { participantId: earlier.participantId, seq: 0, announcement: earlier.announcement },
          ...members,
        ],
      };
    });
    world.dropSocket(victim);
    world.run(3_000);
    expect(poisoned).toBe(1);
    world.run(15_000);
    const roster = victim.session.snapshot().roster;
    expect({
      entriesUnderOwnId: roster.filter((e) => e.participantId === idOf(victim)).length,
      leader: roster.find((e) => e.leader)?.participantId,
      envelopesToSelf: toSelf.length,
    }).toEqual({ entriesUnderOwnId: 1, leader: idOf(leader), envelopesToSelf: 0 });
    world.checkConvergence();
    expect(world.violations).toEqual([]);
  });
});

describe("issue 9 attack 3 (core part): stalled joins", () => {
  it("a join the server never answers times out and is retried; meanwhile the member sends nothing", () => {
    const { world, honest } = call(301, 3);
    const [, , stalled] = honest;
    if (!stalled) throw new Error("setup");
    world.relay.stalledJoins.add(idOf(stalled));
    world.dropSocket(stalled);
    world.run(1_000);
    expect(stalled.sending).toBe(0);
    world.run(JOIN_TIMEOUT_MS + DEFAULT_RECONNECT_POLICY.maxDelayMs + 1_000);
    expect(stalled.sending).toBe(0);
    expect(world.relay.stalledJoinCount).toBeGreaterThanOrEqual(2);

    world.relay.heal();
    world.run(JOIN_TIMEOUT_MS + DEFAULT_RECONNECT_POLICY.maxDelayMs + 5_000);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
  });
});

describe("issue 9 attack 6: two live incarnations of one id", () => {
  it("the server shows a second incarnation of a live member: flagged as a conflict, the old one is keyed out, never two senders on one sender key", () => {
    const { world, honest } = call(603, 4);
    const [leader, member, victim] = honest;
    if (!leader || !member || !victim) throw new Error("setup");
    const victimId = idOf(victim);
    const victimOld = incarnationOf(victim);
    // Anyone with the call secret can announce under any id: a second incarnation of the victim's
    // id with fresh key pairs, which the honest room would refuse with 4409.
    const keys = generateCallKeyPairs(world.random);
    const announcement = createAnnouncement(
      callContextOf(world.secret),
      victimId,
      keys,
      "Victim (copy)",
      world.random,
    );
    for (const target of [leader, member]) {
      world.relay.deliver(connectionOf(target), {
        type: "member-joined",
        member: { participantId: victimId, seq: 1_000, announcement: toBase64url(announcement) },
      });
    }
    world.run(LOCKOUT_DEADLINE_MS + SETTLE_MS);
    for (const observer of [leader, member]) {
      const state = observer.session.snapshot();
      expect(state.conflicts).toContain(victimId);
      // Neither incarnation is on the verified roster: the old one is treated as gone, the new one
      // never proved it is live.
      expect(state.roster.map((r) => r.participantId)).not.toContain(victimId);
    }
    // The leader re-keyed without the old incarnation: nobody still sends with a key it can derive.
    for (const client of [leader, member]) {
      const key = client.installed.get(client.sending);
      expect(client.sending).not.toBe(0);
      expect(key && world.canDerive(victimOld, client.sending, key)).toBe(false);
    }
  });
});

describe("a member announcing an X25519 key no Diffie-Hellman can use", () => {
  // u = 0 and u = 1 are low-order points: X25519 with them is all zeros (RFC 7748 §6.1), which
  // noble refuses with an error. Anyone with the call secret can announce one.
  it.each([
    ["u = 0", new Uint8Array(32)],
    ["u = 1", Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0))],
  ])(
    "(%s) is listed as unverified, breaks no handler, and a later joiner still gets the call",
    (_, point) => {
      const { world, honest } = call(604, 3);
      const [leader, member] = honest;
      if (!leader || !member) throw new Error("setup");
      const keys = generateCallKeyPairs(world.random);
      const oddId = toBase64url(new Uint8Array(16).fill(7));
      const announcement = createAnnouncement(
        callContextOf(world.secret),
        oddId,
        { ...keys, x25519: { ...keys.x25519, publicKey: point } },
        "Odd key",
        world.random,
      );
      const odd = {
        participantId: oddId,
        seq: 1_000,
        announcement: toBase64url(announcement),
      };
      for (const target of honest) {
        world.relay.deliver(connectionOf(target), { type: "member-joined", member: odd });
      }
      // A later joiner's welcome lists the odd member among the others (its seq after theirs).
      world.relay.rules.push((_to, frame): ServerFrame | undefined => {
        if (frame.type !== "welcome") return;
        return { ...frame, members: [...(frame.members as unknown[]), odd] };
      });
      const joiner = world.addClient();
      world.run(LOCKOUT_DEADLINE_MS + SETTLE_MS);
      expect(world.violations).toEqual([]);
      for (const client of [...honest, joiner]) {
        const state = client.session.snapshot();
        expect(state.roster.map((r) => r.participantId)).not.toContain(odd.participantId);
        expect(state.unverified).toContain(odd.participantId);
        expect(client.sending).not.toBe(0);
      }
      expect(joiner.session.snapshot().roster.length).toBe(4);
      // Those it asked to prove itself found the key unusable and counted the announcement refused.
      for (const client of honest) {
        expect(client.session.metrics().announcementsRejected).toBeGreaterThanOrEqual(1);
      }
    },
  );
});
