// Which epochs a member keeps installed around the one it sends with (docs/key-schedule.md,
// Look-ahead and retention), driven as the churn bench found them failing: members that handle the
// leader's messages at different moments. A burst of join ratchets moved fast members several epochs
// on while a slower member still sent with an older key (the fast ones had dropped it), and the
// leader sent two ratchets ahead of members that had not read the first yet. Both glitches must go
// without keeping any key a leaver holds past its time.
import { describe, expect, it } from "vitest";
import { keyCheckOf, ratchetGroupKey } from "../../web/src/core/identifiers.js";
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import { LOOKAHEAD_RATCHETS, MAX_PAST_EPOCHS } from "../../web/src/core/key-store.js";
import { DEFAULT_SCHEDULE_CONFIG, type ScheduleAction } from "../../web/src/core/schedule-types.js";
import { seededRandom } from "./sim/seeded-random.js";

const ID = (n: number) => `participant${String(n).padStart(11, "0")}`; // 22 chars
const config = DEFAULT_SCHEDULE_CONFIG;
const CHAIN_KEY = new Uint8Array(32).fill(7);

function ratchets(key: Uint8Array, steps: number): Uint8Array {
  let out = key;
  for (let i = 0; i < steps; i++) out = ratchetGroupKey(out);
  return out;
}

/**
 * A member (seq 3) of leader 1's call with member 2, holding epoch 5 of a chain that began at 3
 * (so not a fresh key of its own, whose switch would start the fresh-key grace).
 */
function keyedMember() {
  const schedule = new KeySchedule(config, seededRandom("retention"));
  const installed = new Map<number, Uint8Array>();
  const run = (event: Parameters<KeySchedule["handle"]>[0], now: number) => {
    const out: ScheduleAction[] = schedule.handle(event, now);
    for (const action of out) {
      if (action.type === "install") installed.set(action.epoch, action.groupKey);
      if (action.type === "retire") installed.delete(action.epoch);
    }
    expect([...installed.keys()].sort((a, b) => a - b)).toEqual(schedule.installedEpochs());
    return out;
  };
  run(
    {
      type: "joined",
      self: { participantId: ID(3), seq: 3 },
      members: [
        { participantId: ID(1), seq: 1 },
        { participantId: ID(2), seq: 2 },
      ],
      pending: [],
    },
    0,
  );
  run(
    {
      type: "key-message",
      from: ID(1),
      message: {
        type: "key",
        epoch: 5,
        groupKey: CHAIN_KEY,
        kind: "ratchet-join",
        chainStart: 3,
        leaderSeq: 1,
        holders: [1, 2, 3],
      },
    },
    0,
  );
  expect(schedule.sendingEpoch).toBe(5);
  /** The leader's "ratchet to epoch" broadcast, read at `now`. */
  const ratchet = (epoch: number, now: number) =>
    run(
      {
        type: "broadcast",
        from: ID(1),
        body: {
          kind: "ratchet",
          epoch,
          chainStart: 3,
          leaderSeq: 1,
          keyCheck: keyCheckOf(ratchets(CHAIN_KEY, epoch - 5)),
        },
      },
      now,
    );
  return { schedule, installed, run, ratchet };
}

/** The leader's fresh key for `epoch`, sent to this member. */
function freshKey(epoch: number, groupKey: Uint8Array) {
  return {
    type: "key-message" as const,
    from: ID(1),
    message: {
      type: "key" as const,
      epoch,
      groupKey,
      kind: "fresh" as const,
      chainStart: epoch,
      leaderSeq: 1,
      holders: [1, 2, 3],
    },
  };
}

describe("retention of past epochs and look-ahead", () => {
  it("a member that read a burst of ratchets keeps the epoch a slower member still sends with, for retireGraceMs", () => {
    const { schedule, installed, run, ratchet } = keyedMember();
    // Five join ratchets 200 ms apart (the leader's coalescing spacing), read as they come.
    for (let epoch = 6; epoch <= 10; epoch++) ratchet(epoch, (epoch - 5) * 200);
    expect(schedule.sendingEpoch).toBe(10);
    // Epoch 5 is five back but stopped being current only 800 ms ago: frames of a member that has
    // not read the burst yet still decrypt.
    expect(installed.get(5)).toEqual(CHAIN_KEY);
    expect(installed.get(6)).toEqual(ratchets(CHAIN_KEY, 1));
    // The schedule wakes when the first grace ends and retires exactly what is due.
    expect(schedule.nextWakeAt()).toBe(200 + config.retireGraceMs);
    run({ type: "tick" }, 200 + config.retireGraceMs);
    expect(installed.has(5)).toBe(false);
    expect(installed.has(6)).toBe(true);
    run({ type: "tick" }, 1_000 + config.retireGraceMs);
    // The three before the current epoch stay however long ago they were current.
    expect(schedule.installedEpochs()).toEqual([7, 8, 9, 10, 11, 12]);
    expect(schedule.nextWakeAt()).toBeUndefined();
  });

  it("a member two ratchets behind the leader already holds the leader's key", () => {
    const { installed } = keyedMember();
    expect(LOOKAHEAD_RATCHETS).toBe(2);
    expect(installed.get(6)).toEqual(ratchets(CHAIN_KEY, 1));
    expect(installed.get(7)).toEqual(ratchets(CHAIN_KEY, 2));
    expect(installed.has(8)).toBe(false);
  });

  it("however fast the ratchets come, no two installed epochs share one of livekit's 16 slots", () => {
    const { schedule, ratchet } = keyedMember();
    for (let epoch = 6; epoch <= 40; epoch++) {
      ratchet(epoch, epoch); // a millisecond apart: no grace ever ends
      const epochs = schedule.installedEpochs();
      expect(epochs[0]).toBeGreaterThanOrEqual(epoch - MAX_PAST_EPOCHS);
      expect(new Set(epochs.map((e) => e % 16)).size).toBe(epochs.length);
    }
  });

  it("a fresh key replaces the old chain's look-ahead at once, and its commit retires the old chain after the grace", () => {
    const { schedule, installed, run, ratchet } = keyedMember();
    ratchet(6, 100);
    // Someone leaves; the leader's fresh key for epoch 7 arrives.
    run({ type: "member-joined", member: { participantId: ID(4), seq: 4 } }, 150);
    run({ type: "member-left", participantId: ID(4), seq: 4 }, 200);
    const fresh = new Uint8Array(32).fill(9);
    run(freshKey(7, fresh), 300);
    // No ratchet of the leaver's chain above the current epoch stays installed: 7, 8 and 9 are the
    // fresh key and its own ratchets.
    expect(installed.get(7)).toEqual(fresh);
    expect(installed.get(8)).toEqual(ratchets(fresh, 1));
    expect(installed.get(9)).toEqual(ratchets(fresh, 2));
    run(
      {
        type: "broadcast",
        from: ID(1),
        body: {
          kind: "commit",
          epoch: 7,
          chainStart: 7,
          leaderSeq: 1,
          keyCheck: keyCheckOf(fresh),
        },
      },
      400,
    );
    expect(schedule.sendingEpoch).toBe(7);
    run({ type: "tick" }, 400 + config.retireGraceMs);
    // Every key the leaver could hold is gone, the three "recent" ones included.
    expect(schedule.installedEpochs()).toEqual([7, 8, 9]);
  });

  it("a pending fresh key whose sender leaves gives its slots back to the current chain's ratchets", () => {
    const { installed, run } = keyedMember();
    const fresh = new Uint8Array(32).fill(9);
    run(freshKey(6, fresh), 100);
    expect(installed.get(8)).toEqual(ratchets(fresh, 2));
    run({ type: "member-left", participantId: ID(1), seq: 1 }, 200);
    expect(installed.has(8)).toBe(false);
    expect(installed.get(6)).toEqual(ratchets(CHAIN_KEY, 1));
    expect(installed.get(7)).toEqual(ratchets(CHAIN_KEY, 2));
  });
});
