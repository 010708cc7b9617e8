// The server sends a leave naming a present member's seq under another id, a pair that matches no
// one. Were only the seq departed, A would stay on the roster: every fresh key would name A and be
// locked out at once, and a leader that re-keys when locked out would rotate fresh every 200 ms
// for as long as the call lasts. The seq is the incarnation, so A is taken as gone (as a forged
// leave under A's own id would have it); ignoring the notice instead could hide a real leave
// (seq-collision-hides-leave.test.ts).
import { describe, expect, it } from "vitest";
import type { ScheduleAction } from "../../web/src/core/schedule-types.js";
import { ackingLeader } from "./sim/acking-leader.js";

const ID = (n: number) => `participant${String(n).padStart(11, "0")}`;
const L = ID(1);
const A = ID(2);
const B = ID(3);

describe("a forged leave for a present member's seq", () => {
  it.each([
    ["as the member-left alone", false],
    ["heard on the socket first, as every leave is", true],
  ])("%s: no fresh key over and over, and the call recovers", (_, heard) => {
    let fresh = 0;
    let wakes = 0;
    let sendingMs = 0;
    let keyedA = 0;
    let lastFresh = 0;
    const count = (actions: ScheduleAction[]) => {
      for (const a of actions) {
        if (a.type === "rotation" && a.fresh) fresh++;
        if (a.type !== "send" || a.message.type !== "key" || a.message.kind !== "fresh") continue;
        lastFresh = a.message.epoch;
        if (a.to === A) keyedA = a.message.epoch;
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
    count(joined);
    // One forged message; the server is honest from then on.
    const forged = { participantId: ID(77), seq: 2 };
    if (heard) count(handle({ type: "departure-heard", ...forged }, 1_000));
    count(handle({ type: "member-left", ...forged }, 1_000));
    const before = fresh;
    run(1_000, 61_000, 10, (actions, _, woke) => {
      if (woke) wakes++;
      count(actions);
      if (l.sendingEpoch !== 0) sendingMs += 10;
    });
    expect(fresh - before, "fresh rotations in 60 s after one forged leave").toBeLessThan(10);
    expect(wakes, "wakes in 60 s (no busy loop)").toBeLessThan(1_000);
    expect(sendingMs, "leader sends again soon after the server is honest").toBeGreaterThan(50_000);
    // The seq is the incarnation: A is taken as gone, as a well-formed forged leave would have it.
    expect(keyedA, "no key for the seq that left").toBe(1);
    expect(lastFresh).toBeGreaterThan(1);
  });
});
