// Red team (round 44, helper-42): the look-ahead (two ratchets) covers 2 x coalesceMs = 400 ms of
// join ratchets. On the simulator's slow honest relay (150-400 ms down, 1-5 ms up) a member whose
// leader frames take the full 400 ms (+ uplink) lacks the third ratchet of a burst for the few ms
// between the leader's switch and the first ratchet's arrival: three joiners proven by the leader
// at t, t+200, t+400 (or a periodic ratchet followed by two joins).
import { describe, expect, it } from "vitest";
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import {
  DEFAULT_SCHEDULE_CONFIG,
  type ScheduleAction,
  type ScheduleEvent,
} from "../../web/src/core/schedule-types.js";
import { memberId as ID } from "./sim/leader-frames.js";
import { seededRandom } from "./sim/seeded-random.js";

const config = DEFAULT_SCHEDULE_CONFIG;
const L = ID(1);
const M = ID(2);
const ONE_WAY = 403; // 400 down + 3 up (passes at 399) // 400 down + 3 up

describe("a burst of join ratchets on a 400 ms link", () => {
  it("the member never lacks the epoch the leader sends with", () => {
    const leader = new KeySchedule(config, seededRandom("lead"));
    const m = new KeySchedule(config, seededRandom("m"));
    const queue: { at: number; to: "L" | "M"; event: ScheduleEvent }[] = [];
    const route = (from: "L" | "M", actions: ScheduleAction[], now: number) => {
      for (const a of actions) {
        const at = now + ONE_WAY;
        if (from === "L" && a.type === "broadcast")
          queue.push({ at, to: "M", event: { type: "broadcast", from: L, body: a.body } });
        if (from === "L" && a.type === "send" && a.to === M)
          queue.push({ at, to: "M", event: { type: "key-message", from: L, message: a.message } });
        if (from === "M" && a.type === "send" && a.to === L)
          queue.push({ at, to: "L", event: { type: "key-message", from: M, message: a.message } });
      }
    };
    const lSelf = { participantId: L, seq: 1 };
    const mSelf = { participantId: M, seq: 2 };
    const joinedL = { type: "joined" as const, self: lSelf, members: [mSelf], pending: [] };
    const joinedM = { type: "joined" as const, self: mSelf, members: [lSelf], pending: [] };
    route("L", leader.handle(joinedL, 0), 0);
    route("M", m.handle(joinedM, 0), 0);
    const joiners = [3, 4, 5].map((seq) => ({ participantId: ID(seq), seq }));
    // The room announces the three at 9 000 (M sees them 400 ms later); the leader proves them
    // 200 ms apart.
    for (const j of joiners)
      queue.push({ at: 9_400, to: "M", event: { type: "member-joined", member: j } });
    let glitchMs = 0;
    const first: string[] = [];
    for (let now = 0; now <= 12_000; now++) {
      const proven = [10_000, 10_200, 10_400].indexOf(now);
      const joiner = joiners[proven];
      if (joiner) route("L", leader.handle({ type: "member-joined", member: joiner }, now), now);
      for (const f of queue.filter((x) => x.at <= now).sort((x, y) => x.at - y.at)) {
        queue.splice(queue.indexOf(f), 1);
        if (f.to === "L") route("L", leader.handle(f.event, now), now);
        else route("M", m.handle(f.event, now), now);
      }
      const lw = leader.nextWakeAt();
      if (lw !== undefined && lw <= now) route("L", leader.handle({ type: "tick" }, now), now);
      const mw = m.nextWakeAt();
      if (mw !== undefined && mw <= now) route("M", m.handle({ type: "tick" }, now), now);
      const sending = leader.sendingEpoch;
      if (m.sendingEpoch !== 0 && sending !== 0 && !m.installedEpochs().includes(sending)) {
        glitchMs += 1;
        if (first.length === 0)
          first.push(`t=${now}: leader sends ${sending}, M accepts [${m.installedEpochs()}]`);
      }
    }
    expect(glitchMs, `ms M lacks the leader's epoch (first: ${first[0] ?? "never"})`).toBe(0);
  });
});
