// Red team (round 43, helper-40): the one-shot `key-request` switchToDelivered sends when a seq it
// counts onward only as a guess has already left (0db5fe0) races the leader's next ratchet: it
// helps only if the leader reads it before it ratchets again. The leader's coalescing lets the next
// ratchet (for another joiner Y, proven just after J) come coalesceMs (200 ms) after J's
// ratchet-join; with a round trip between J and the leader above that (150 ms each way here, no
// loss, nothing reordered) that ratchet comes first. The ask then arrives for an epoch the leader
// already holds: the leader answers it with its current key (which re-holds only that epoch and
// those below at J) and sees no epoch above, so its next ratchet is not fresh. J's look-ahead
// still carries the departed guess Z and is withheld from Z's deadline on:
//  - J's proof reaching the leader soon (100 ms): the glitch comes at the leader's periodic
//    ratchet 30 s later ("t=31450: leader sends 5, J accepts [3,4]", 450 ms);
//  - J's proof reaching the leader after Z's deadline (J's hellos took 3 s; liveness allows 5 s):
//    at once, at Y's ratchet ("t=4200: leader sends 4, J accepts [3]", 250 ms).
// It is the helper-38 scenario (joiner-seen-leaver-glitch.test.ts) on a slower network, with a
// second joiner. With 20 ms each way both pass.
import { describe, expect, it } from "vitest";
import { memberId as ID } from "./sim/leader-frames.js";
import { LINK_LEADER as L, leaderJoinerLink } from "./sim/leader-joiner-link.js";
import { type Faults, HONEST } from "./sim/relay.js";
import { simulate } from "./sim/scenario.js";

const A = ID(2);
const J = ID(5);
const Z = ID(6);
const Y = ID(7);
const LATENCY = 150;

describe("the one-shot ask for a departed guess, on a network slower than the coalescing", () => {
  it.each([
    ["J proven at once, Y 160 ms later", 1_100, 1_260],
    ["J's proof slow (3 s), Y 10 ms later", 4_000, 4_010],
  ])("%s: the joiner never lacks the epoch the leader sends with", (_, jProvenAt, yProvenAt) => {
    // An honest link, one-way latency 150 ms, between the leader and J (A and Y ack at once).
    const link = leaderJoinerLink(J, [A, Y], LATENCY);
    link.toLeader(
      {
        type: "joined",
        self: { participantId: L, seq: 1 },
        members: [{ participantId: A, seq: 2 }],
        pending: [],
      },
      0,
    );
    // J (seq 5) joins at 1 000; Z (seq 6) 5 ms later, and closes its tab at 1 050 before proving
    // itself to anyone (the leader re-keys for that leave, before J is keyed). The room's notices
    // reach J 5 ms after the leader.
    link.toJoinerAt(
      {
        type: "joined",
        self: { participantId: J, seq: 5 },
        members: [
          { participantId: L, seq: 1 },
          { participantId: A, seq: 2 },
        ],
        pending: [],
      },
      1_000,
    );
    link.toLeader({ type: "member-pending", member: { participantId: J, seq: 5 } }, 1_000);
    link.toLeader({ type: "member-pending", member: { participantId: Z, seq: 6 } }, 1_005);
    link.toJoinerAt({ type: "member-pending", member: { participantId: Z, seq: 6 } }, 1_010);
    link.toLeader({ type: "member-left", participantId: Z, seq: 6 }, 1_050);
    link.toJoinerAt({ type: "member-left", participantId: Z, seq: 6 }, 1_055);
    let keyedAt: number | undefined;
    const seen = link.run(
      1_000,
      70_000,
      (now) => {
        // Y (seq 7) joins 50 ms before it proves itself; J's proof reaches the leader, then Y's.
        if (now === yProvenAt - 50) {
          const pending = { type: "member-pending" as const, member: { participantId: Y, seq: 7 } };
          link.toLeader(pending, now);
          link.toJoinerAt(pending, now + LATENCY);
        }
        if (now === jProvenAt)
          link.toLeader({ type: "member-joined", member: { participantId: J, seq: 5 } }, now);
        if (now === yProvenAt) {
          const joined = { type: "member-joined" as const, member: { participantId: Y, seq: 7 } };
          link.toLeader(joined, now);
          link.toJoinerAt(joined, now + 5);
        }
      },
      (now) => {
        if (keyedAt === undefined && link.joiner.sendingEpoch > 0) keyedAt = now;
        return keyedAt !== undefined;
      },
    );
    expect(keyedAt, "J keyed").toBeDefined();
    expect(seen.glitchMs, `ms J lacks the epoch the leader sends with (first: ${seen.first})`).toBe(
      0,
    );
  });
});

// The same in the simulator (real sessions), found by its random runs on an honest, in-order relay
// that is only slower than sim/relay.ts's HONEST (150 to 400 ms a frame instead of 1 to 40): client
// 2 (seq 3) is keyed by a ratchet-join at epoch 4 that counts seq 4 (the socket dropped at once,
// rejoining under a new seq) onward; its ask reaches the leader after the leader's ratchet to 5
// for the next joiner, so the ratchet to 6 that follows is not fresh either ("glitch at t=3831:
// client 0 sends epoch 6, client 2 lacks it").
describe("simulator: a slow honest relay", () => {
  it("no glitch", () => {
    const slow: Faults = { ...HONEST, minDelayMs: 150, maxDelayMs: 400 };
    const input = {
      seed: 1,
      initial: 3,
      ops: [
        { kind: "join", wait: 150 },
        { kind: "drop", who: 186_624_919, wait: 642 },
        { kind: "join", wait: 4_000 },
        { kind: "forge", variant: 0, wait: 200 },
      ],
    } as unknown as Parameters<typeof simulate>[0];
    const world = simulate(input, slow, true);
    expect(world.violations).toEqual([]);
  });
});
