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
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import {
  DEFAULT_SCHEDULE_CONFIG,
  type ScheduleAction,
  type ScheduleEvent,
} from "../../web/src/core/schedule-types.js";
import { memberId as ID } from "./sim/leader-frames.js";
import { HONEST } from "./sim/relay.js";
import { simulate } from "./sim/scenario.js";
import { seededRandom } from "./sim/seeded-random.js";

const config = DEFAULT_SCHEDULE_CONFIG;
const L = ID(1);
const A = ID(2);
const J = ID(5);
const Z = ID(6);

describe("an honest joiner and a visitor who left before the joiner's first key", () => {
  it("the joiner never lacks the epoch the leader sends with", () => {
    const leader = new KeySchedule(config, seededRandom("lead"));
    const j = new KeySchedule(config, seededRandom("joiner"));
    // An honest relay, one-way latency 20 ms, between the leader and J (A acks at once).
    const inFlight: { at: number; to: "L" | "J"; event: ScheduleEvent }[] = [];
    const route = (from: "L" | "J", actions: ScheduleAction[], now: number): void => {
      for (const a of actions) {
        if (from === "L" && a.type === "send" && a.to === A && a.message.type === "key") {
          const ack = { type: "ack" as const, epoch: a.message.epoch, have: 0 };
          route("L", leader.handle({ type: "key-message", from: A, message: ack }, now), now);
        }
        if (from === "L" && a.type === "send" && a.to === J)
          inFlight.push({
            at: now + 20,
            to: "J",
            event: { type: "key-message", from: L, message: a.message },
          });
        if (from === "L" && a.type === "broadcast")
          inFlight.push({
            at: now + 20,
            to: "J",
            event: { type: "broadcast", from: L, body: a.body },
          });
        if (from === "J" && a.type === "send" && a.to === L)
          inFlight.push({
            at: now + 20,
            to: "L",
            event: { type: "key-message", from: J, message: a.message },
          });
      }
    };
    const lead = {
      leader,
      handle: (event: ScheduleEvent, now: number) => leader.handle(event, now),
    };
    const both = (event: ScheduleEvent, now: number) => {
      route("L", lead.handle(event, now), now);
      route("J", j.handle(event, now), now);
    };
    route(
      "L",
      leader.handle(
        {
          type: "joined",
          self: { participantId: L, seq: 1 },
          members: [{ participantId: A, seq: 2 }],
          pending: [],
        },
        0,
      ),
      0,
    );
    // J (seq 5) joins at 1 000: the room announces it to the leader.
    j.handle(
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
    route(
      "L",
      lead.handle({ type: "member-pending", member: { participantId: J, seq: 5 } }, 1_000),
      1_000,
    );
    // Z (seq 6) joins 5 ms later and closes its tab before proving itself to anyone.
    both({ type: "member-pending", member: { participantId: Z, seq: 6 } }, 1_005);
    both({ type: "member-left", participantId: Z, seq: 6 }, 1_050);
    // The leader proves J at 1 100.
    route(
      "L",
      lead.handle({ type: "member-joined", member: { participantId: J, seq: 5 } }, 1_100),
      1_100,
    );
    let glitchMs = 0;
    let jSilentMs = 0;
    const firstGlitch: string[] = [];
    for (let now = 1_100; now <= 70_000; now += 5) {
      for (const f of inFlight.filter((x) => x.at <= now)) {
        inFlight.splice(inFlight.indexOf(f), 1);
        if (f.to === "J") route("J", j.handle(f.event, now), now);
        else route("L", lead.handle(f.event, now), now);
      }
      const lw = lead.leader.nextWakeAt();
      if (lw !== undefined && lw <= now) route("L", lead.handle({ type: "tick" }, now), now);
      const jw = j.nextWakeAt();
      if (jw !== undefined && jw <= now) route("J", j.handle({ type: "tick" }, now), now);
      if (now < 3_000) continue; // J's first key
      const sending = lead.leader.sendingEpoch;
      if (sending !== 0 && !j.installedEpochs().includes(sending)) {
        glitchMs += 5;
        if (firstGlitch.length === 0)
          firstGlitch.push(`t=${now}: leader sends ${sending}, J accepts [${j.installedEpochs()}]`);
      }
      if (j.sendingEpoch === 0) jSilentMs += 5;
    }
    expect(j.sendingEpoch, "J keyed").toBeGreaterThan(0);
    expect(
      glitchMs,
      `ms J lacks the epoch the leader sends with (first: ${firstGlitch[0] ?? "never"})`,
    ).toBe(0);
    expect(jSilentMs, "ms J, keyed, sends nothing").toBe(0);
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
