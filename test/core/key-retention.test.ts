// Which epochs a member keeps installed around the one it sends with (docs/key-schedule.md,
// Look-ahead and retention), driven as the churn bench found them failing: members that handle the
// leader's messages at different moments. A burst of join ratchets moved fast members several epochs
// on while a slower member still sent with an older key (the fast ones had dropped it), and the
// leader sent two ratchets ahead of members that had not read the first yet. Both glitches must go
// without keeping any key a leaver holds past its time. The member fixture: retention-fixture.ts.
import { describe, expect, it } from "vitest";
import { LOOKAHEAD_RATCHETS, MAX_PAST_EPOCHS } from "../../web/src/core/key-store.js";
import { CHAIN_KEY, config, member, ratchets } from "./retention-fixture.js";

const FRESH = new Uint8Array(32).fill(9);

describe("retention of past epochs and look-ahead", () => {
  it("a member that read a burst of ratchets keeps the epoch a slower member still sends with, for retireGraceMs", () => {
    const { schedule, installed, tick, ratchet } = member();
    // Five join ratchets 200 ms apart (the leader's coalescing spacing), read as they come.
    for (let epoch = 6; epoch <= 10; epoch++) ratchet(epoch, (epoch - 5) * 200);
    expect(schedule.sendingEpoch).toBe(10);
    // Epoch 5 is five back but stopped being current only 800 ms ago: frames of a member that has
    // not read the burst yet still decrypt.
    expect(installed.get(5)).toEqual(CHAIN_KEY);
    expect(installed.get(6)).toEqual(ratchets(CHAIN_KEY, 1));
    // The schedule wakes when the first grace ends and retires exactly what is due.
    expect(schedule.nextWakeAt()).toBe(200 + config.retireGraceMs);
    tick(200 + config.retireGraceMs);
    expect(installed.has(5)).toBe(false);
    expect(installed.has(6)).toBe(true);
    tick(1_000 + config.retireGraceMs);
    // The three before the current epoch stay however long ago they were current.
    expect(schedule.installedEpochs()).toEqual([7, 8, 9, 10, 11, 12]);
    expect(schedule.nextWakeAt()).toBeUndefined();
  });

  it("a member two ratchets behind the leader already holds the leader's key", () => {
    const { installed } = member();
    expect(LOOKAHEAD_RATCHETS).toBe(2);
    expect(installed.get(6)).toEqual(ratchets(CHAIN_KEY, 1));
    expect(installed.get(7)).toEqual(ratchets(CHAIN_KEY, 2));
    expect(installed.has(8)).toBe(false);
  });

  it("however fast the ratchets come, no two installed epochs share one of livekit's 16 slots", () => {
    const { schedule, ratchet } = member();
    for (let epoch = 6; epoch <= 40; epoch++) {
      ratchet(epoch, epoch); // a millisecond apart: no grace ever ends
      const epochs = schedule.installedEpochs();
      expect(epochs[0]).toBeGreaterThanOrEqual(epoch - MAX_PAST_EPOCHS);
      expect(new Set(epochs.map((e) => e % 16)).size).toBe(epochs.length);
    }
  });

  it("a fresh key replaces the old chain's look-ahead at once, and its commit retires the old chain after the grace", () => {
    const { schedule, installed, ratchet, fresh, commit, left, tick } = member();
    ratchet(6, 100);
    // N leaves; the leader's fresh key for epoch 7 arrives.
    left(4, 200);
    fresh(7, FRESH, 300);
    // No ratchet of the leaver's chain above the current epoch stays installed: 7, 8 and 9 are the
    // fresh key and its own ratchets.
    expect(installed.get(7)).toEqual(FRESH);
    expect(installed.get(8)).toEqual(ratchets(FRESH, 1));
    expect(installed.get(9)).toEqual(ratchets(FRESH, 2));
    commit(7, FRESH, 400);
    expect(schedule.sendingEpoch).toBe(7);
    tick(400 + config.retireGraceMs);
    // Every key the leaver could hold is gone, the three "recent" ones included.
    expect(schedule.installedEpochs()).toEqual([7, 8, 9]);
  });

  it("a pending fresh key whose sender leaves takes its epochs with it, and they never get back the ratchets it replaced", () => {
    const { installed, fresh, left, reinstalled } = member();
    fresh(6, FRESH, 100);
    expect(installed.get(8)).toEqual(ratchets(FRESH, 2));
    left(1, 200);
    // Putting the old ratchets back would look like new keys to the media layer (fresh replay
    // windows), so the SFU could replay frames recorded under them: the epochs stay empty.
    expect([...installed.keys()].filter((epoch) => epoch > 5)).toEqual([]);
    expect(reinstalled).toEqual([]);
  });
});
