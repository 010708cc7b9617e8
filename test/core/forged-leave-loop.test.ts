// The server sends a leave naming a present member's seq under another id, a pair that matches no
// one. Were only the seq departed, A would stay on the roster: every fresh key would name A and be
// locked out at once, and a leader that re-keys when locked out would rotate fresh every 200 ms
// for as long as the call lasts. The seq is the incarnation, so A is taken as gone (as a forged
// leave under A's own id would have it); ignoring the notice instead could hide a real leave
// (seq-collision-hides-leave.test.ts).
import { describe, expect, it } from "vitest";
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import { DEFAULT_SCHEDULE_CONFIG, type ScheduleAction } from "../../web/src/core/schedule-types.js";
import { seededRandom } from "./sim/seeded-random.js";

const ID = (n: number) => `participant${String(n).padStart(11, "0")}`;
const config = DEFAULT_SCHEDULE_CONFIG;
const L = ID(1);
const A = ID(2);
const B = ID(3);

describe("a forged leave for a present member's seq", () => {
  it.each([
    ["as the member-left alone", false],
    ["heard on the socket first, as every leave is", true],
  ])("%s: no fresh key over and over, and the call recovers", (_, heard) => {
    const l = new KeySchedule(config, seededRandom("l"));
    let fresh = 0;
    let wakes = 0;
    let sendingMs = 0;
    let keyedA = 0;
    let lastFresh = 0;
    const step = (actions: ScheduleAction[], now: number) => {
      for (const a of actions) {
        if (a.type === "rotation" && a.fresh) fresh++;
        if (a.type !== "send" || a.message.type !== "key" || a.message.kind !== "fresh") continue;
        lastFresh = a.message.epoch;
        if (a.to === A) keyedA = a.message.epoch;
        const ack = { type: "ack" as const, epoch: a.message.epoch, have: 0 };
        step(l.handle({ type: "key-message", from: a.to, message: ack }, now), now);
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
    // One forged message; the server is honest from then on.
    const forged = { participantId: ID(77), seq: 2 };
    if (heard) step(l.handle({ type: "departure-heard", ...forged }, 1_000), 1_000);
    step(l.handle({ type: "member-left", ...forged }, 1_000), 1_000);
    const before = fresh;
    for (let now = 1_000; now <= 61_000; now += 10) {
      const wake = l.nextWakeAt();
      if (wake !== undefined && wake <= now) {
        wakes++;
        step(l.handle({ type: "tick" }, now), now);
      }
      if (l.sendingEpoch !== 0) sendingMs += 10;
    }
    expect(fresh - before, "fresh rotations in 60 s after one forged leave").toBeLessThan(10);
    expect(wakes, "wakes in 60 s (no busy loop)").toBeLessThan(1_000);
    expect(sendingMs, "leader sends again soon after the server is honest").toBeGreaterThan(50_000);
    // The seq is the incarnation: A is taken as gone, as a well-formed forged leave would have it.
    expect(keyedA, "no key for the seq that left").toBe(1);
    expect(lastFresh).toBeGreaterThan(1);
  });
});
