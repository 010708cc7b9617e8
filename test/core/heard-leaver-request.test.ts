// A member whose leave the leader has heard (its member-left still waits behind a signature check)
// is left out of the leader's fresh key, so that key's holders lack it. It is still on the roster
// until then; were its key request answered, the leader would send, after its deadline, with a key
// it holds.
import { describe, expect, it } from "vitest";
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import { DEFAULT_SCHEDULE_CONFIG, type ScheduleAction } from "../../web/src/core/schedule-types.js";
import { seededRandom } from "./sim/seeded-random.js";

const ID = (n: number) => `participant${String(n).padStart(11, "0")}`;
const config = DEFAULT_SCHEDULE_CONFIG;
const L = ID(1);
const A = ID(2);
const B = ID(3);

describe("a heard leaver asks for the leader's current key", () => {
  it("the leader never sends with a key it handed A after A's deadline", () => {
    const l = new KeySchedule(config, seededRandom("l"));
    const aHolds = new Map<number, number>(); // epoch -> when A got it
    const step = (actions: ScheduleAction[], now: number) => {
      for (const a of actions) {
        if (a.type !== "send" || a.message.type !== "key") continue;
        const msg = a.message;
        if (a.to === A) aHolds.set(msg.epoch, now);
        if (msg.kind === "fresh") {
          const ack = { type: "ack" as const, epoch: msg.epoch, have: 0 };
          step(l.handle({ type: "key-message", from: a.to, message: ack }, now), now);
        }
      }
    };
    step(
      l.handle(
        {
          type: "joined",
          self: { participantId: L, seq: 1 },
          members: [
            { participantId: A, seq: 2 },
            { participantId: B, seq: 3 },
          ],
          pending: [],
        },
        0,
      ),
      0,
    );
    expect(l.sendingEpoch).toBe(1);
    // A's leave is heard at 1000; its member-left waits behind a slow signature check.
    step(l.handle({ type: "departure-heard", participantId: A, seq: 2 }, 1_000), 1_000);
    const deadline = 1_000 + config.lockoutGraceMs;
    for (let now = 1_000; now <= 4_000; now += 10) {
      const wake = l.nextWakeAt();
      if (wake !== undefined && wake <= now) step(l.handle({ type: "tick" }, now), now);
    }
    expect(l.sendingEpoch, "the leader sends again, with a key A was not given").toBeGreaterThan(1);
    expect(aHolds.has(l.sendingEpoch)).toBe(false);
    // A (colluding with the server, its leave not yet processed) asks for the key.
    const req = { type: "key-request" as const, epoch: l.sendingEpoch, have: 0 };
    step(l.handle({ type: "key-message", from: A, message: req }, 4_000), 4_000);
    for (let now = 4_000; now <= 6_000; now += 10) {
      const wake = l.nextWakeAt();
      if (wake !== undefined && wake <= now) step(l.handle({ type: "tick" }, now), now);
      if (now > deadline && aHolds.has(l.sendingEpoch))
        throw new Error(
          `at ${now} leader sends with epoch ${l.sendingEpoch}, which A holds (deadline ${deadline})`,
        );
    }
  });
});
