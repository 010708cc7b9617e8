// A member whose leave the leader has heard (its member-left still waits behind a signature check)
// is left out of the leader's fresh key, so that key's holders lack it. It is still on the roster
// until then; were its key request answered, the leader would send, after its deadline, with a key
// it holds.
import { describe, expect, it } from "vitest";
import { DEFAULT_SCHEDULE_CONFIG, type ScheduleAction } from "../../web/src/core/schedule-types.js";
import { ackingLeader } from "./sim/acking-leader.js";

const ID = (n: number) => `participant${String(n).padStart(11, "0")}`;
const config = DEFAULT_SCHEDULE_CONFIG;
const L = ID(1);
const A = ID(2);
const B = ID(3);

describe("a heard leaver asks for the leader's current key", () => {
  it("the leader never sends with a key it handed A after A's deadline", () => {
    const aHolds = new Map<number, number>(); // epoch -> when A got it
    const record = (actions: ScheduleAction[], now: number) => {
      for (const a of actions) {
        if (a.type === "send" && a.message.type === "key" && a.to === A)
          aHolds.set(a.message.epoch, now);
      }
    };
    const members = [
      { participantId: A, seq: 2 },
      { participantId: B, seq: 3 },
    ];
    const {
      leader: l,
      joined,
      handle,
      run,
    } = ackingLeader("l", { participantId: L, seq: 1 }, members);
    record(joined, 0);
    expect(l.sendingEpoch).toBe(1);
    // A's leave is heard at 1000; its member-left waits behind a slow signature check.
    record(handle({ type: "departure-heard", participantId: A, seq: 2 }, 1_000), 1_000);
    const deadline = 1_000 + config.lockoutGraceMs;
    run(1_000, 4_000, 10, record);
    expect(l.sendingEpoch, "the leader sends again, with a key A was not given").toBeGreaterThan(1);
    expect(aHolds.has(l.sendingEpoch)).toBe(false);
    // A (colluding with the server, its leave not yet processed) asks for the key.
    const req = { type: "key-request" as const, epoch: l.sendingEpoch, have: 0 };
    record(handle({ type: "key-message", from: A, message: req }, 4_000), 4_000);
    run(4_000, 6_000, 10, (actions, now) => {
      record(actions, now);
      if (now > deadline && aHolds.has(l.sendingEpoch))
        throw new Error(
          `at ${now} leader sends with epoch ${l.sendingEpoch}, which A holds (deadline ${deadline})`,
        );
    });
  });
});
