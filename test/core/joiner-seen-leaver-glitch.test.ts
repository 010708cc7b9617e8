// Red team (round 42, helper-38): switchToDelivered counts every seq announced to a member since it joined
// (seenJoining) as a holder of the chain onward from a key that is not fresh. For a joiner's first
// key that includes an honest visitor Z who joined right after it and left before its ratchet-join
// came (closed the tab at once): Z's deadline has long passed by the leader's next ratchet, so the
// joiner J withholds that ratchet as soon as it is made (it was J's look-ahead), follows the
// leader's broadcast onto it, finds it "locked out", stops sending and asks. Until the leader's
// answer is back, everyone else sends with an epoch J lacks: a glitch in an honest call, at the
// first ratchet after J's join (the periodic one here, 30 s later), whatever the network.
// (The leader re-keyed for Z's leave before keying J, so the chain J is handed never reached Z.)
import { describe, expect, it } from "vitest";
import { memberId as ID } from "./sim/leader-frames.js";
import { LINK_LEADER as L, leaderJoinerLink } from "./sim/leader-joiner-link.js";
import { HONEST } from "./sim/relay.js";
import { simulate } from "./sim/scenario.js";

const A = ID(2);
const J = ID(5);
const Z = ID(6);

describe("an honest joiner and a visitor who left before the joiner's first key", () => {
  it("the joiner never lacks the epoch the leader sends with", () => {
    // An honest link, one-way latency 20 ms, between the leader and J (A acks at once).
    const link = leaderJoinerLink(J, [A], 20);
    const both = (event: Parameters<typeof link.toLeader>[0], now: number) => {
      link.toLeader(event, now);
      link.toJoiner(event, now);
    };
    link.toLeader(
      {
        type: "joined",
        self: { participantId: L, seq: 1 },
        members: [{ participantId: A, seq: 2 }],
        pending: [],
      },
      0,
    );
    // J (seq 5) joins at 1 000: the room announces it to the leader.
    link.toJoiner(
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
    // Z (seq 6) joins 5 ms later and closes its tab before proving itself to anyone.
    both({ type: "member-pending", member: { participantId: Z, seq: 6 } }, 1_005);
    both({ type: "member-left", participantId: Z, seq: 6 }, 1_050);
    // The leader proves J at 1 100; J holds its first key well before 3 000.
    link.toLeader({ type: "member-joined", member: { participantId: J, seq: 5 } }, 1_100);
    const seen = link.run(
      1_100,
      70_000,
      () => {},
      (now) => now >= 3_000,
    );
    expect(link.joiner.sendingEpoch, "J keyed").toBeGreaterThan(0);
    expect(seen.glitchMs, `ms J lacks the epoch the leader sends with (first: ${seen.first})`).toBe(
      0,
    );
    expect(seen.silentMs, "ms J, keyed, sends nothing").toBe(0);
  });
});

// The same in the simulator (real sessions, honest relay): clients 0 and 1, then J (client 2), then
// Z (client 3) 2 ms later, who leaves 10 ms after that; the sim's periodic ratchet (5 s) then finds
// J without it ("glitch at t=5839: client 0 sends epoch 5, client 2 lacks it").
describe("simulator: an honest joiner and a quick visitor", () => {
  it("no glitch", () => {
    const input = {
      seed: 217,
      initial: 2,
      ops: [
        { kind: "join", wait: 2 },
        { kind: "join", wait: 10 },
        { kind: "leave", who: 3, wait: 12_000 },
        { kind: "join", wait: 6_000 },
      ],
    } as unknown as Parameters<typeof simulate>[0];
    const world = simulate(input, HONEST, true);
    expect(world.violations).toEqual([]);
  });
});
