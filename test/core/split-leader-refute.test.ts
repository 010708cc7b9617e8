// A split view of the leader (docs/key-schedule.md, Look-ahead rule): the server shows member M a
// lower-seq leader L1 for a while, whose commit refutes the fresh key L2 sent M, then hides L1
// again and lets L2's own commit through. M never takes the refuted key back (install's rule), so
// it must neither switch to an epoch it holds nothing for and stay there, nor wait for ratchets to
// walk past the epochs it lost: it asks, and L2's next rotation is a fresh key M can install.
import { describe, expect, it } from "vitest";
import { keyCheckOf } from "../../web/src/core/identifiers.js";
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import { DEFAULT_SCHEDULE_CONFIG, type ScheduleAction } from "../../web/src/core/schedule-types.js";
import { seededRandom } from "./sim/seeded-random.js";

const ID = (n: number) => `participant${String(n).padStart(11, "0")}`;
const config = DEFAULT_SCHEDULE_CONFIG;
const L1 = ID(1);
const L2 = ID(2);
const M = ID(3);
const STEP_MS = 10;
const RUN_MS = 120_000;

describe("a refuted pending key whose own commit arrives later", () => {
  it("costs M at most one periodic interval once the server is honest again", () => {
    const schedules = new Map([
      [L2, new KeySchedule(config, seededRandom("l2"))],
      [M, new KeySchedule(config, seededRandom("m"))],
    ]);
    const held: { from: string; action: ScheduleAction }[] = [];
    let holdBroadcastsToM = true;
    const route = (from: string, actions: ScheduleAction[], now: number) => {
      const queue = actions.map((action) => ({ from, action }));
      for (let n = 0; queue.length > 0 && n < 10_000; n++) {
        const next = queue.shift();
        if (!next) break;
        const { from: source, action } = next;
        if (action.type === "send") {
          const target = schedules.get(action.to);
          const event = { type: "key-message" as const, from: source, message: action.message };
          const out = target?.handle(event, now) ?? [];
          for (const a of out) queue.push({ from: action.to, action: a });
        } else if (action.type === "broadcast" && source === L2) {
          if (holdBroadcastsToM) held.push(next);
          else {
            const out = schedules
              .get(M)
              ?.handle({ type: "broadcast", from: L2, body: action.body }, now);
            for (const a of out ?? []) queue.push({ from: M, action: a });
          }
        }
      }
    };
    const m = schedules.get(M);
    const l2 = schedules.get(L2);
    if (!m || !l2) throw new Error("setup");
    // L1 is hidden from L2 throughout, and from M at first.
    route(
      M,
      m.handle(
        {
          type: "joined",
          self: { participantId: M, seq: 3 },
          members: [{ participantId: L2, seq: 2 }],
          pending: [],
        },
        0,
      ),
      0,
    );
    route(
      L2,
      l2.handle(
        {
          type: "joined",
          self: { participantId: L2, seq: 2 },
          members: [{ participantId: M, seq: 3 }],
          pending: [],
        },
        0,
      ),
      0,
    );
    expect(l2.sendingEpoch).toBe(1);
    expect(m.sendingEpoch, "L2's commit is held from M").toBe(0);
    // L1 appears to M, and its commit of its own epoch-1 key refutes L2's.
    m.handle({ type: "member-joined", member: { participantId: L1, seq: 1 } }, 100);
    const theirs = new Uint8Array(32).fill(9);
    const commit = {
      kind: "commit" as const,
      epoch: 1,
      chainStart: 1,
      leaderSeq: 1,
      keyCheck: keyCheckOf(theirs),
    };
    route(M, m.handle({ type: "broadcast", from: L1, body: commit }, 200), 200);
    expect(m.installedEpochs()).not.toContain(1);
    route(M, m.handle({ type: "member-left", participantId: L1, seq: 1 }, 300), 300);
    // The server is honest from now on: L2's held commit arrives.
    holdBroadcastsToM = false;
    for (const { action } of held.splice(0)) {
      if (action.type === "broadcast")
        route(M, m.handle({ type: "broadcast", from: L2, body: action.body }, 400), 400);
    }
    let hearsFrom: number | undefined;
    for (let now = 400; now <= RUN_MS && hearsFrom === undefined; now += STEP_MS) {
      for (const [id, schedule] of schedules) {
        const wake = schedule.nextWakeAt();
        if (wake !== undefined && wake <= now)
          route(id, schedule.handle({ type: "tick" }, now), now);
      }
      const epoch = l2.sendingEpoch;
      if (epoch !== 0 && m.sendingEpoch === epoch && m.installedEpochs().includes(epoch))
        hearsFrom = now;
    }
    expect(hearsFrom, "M hears L2 and sends again").toBeDefined();
    expect(hearsFrom ?? RUN_MS).toBeLessThanOrEqual(config.ratchetIntervalMs + 1_000);
  });
});
