// The receiving side of the lock-out in the key store (docs/key-schedule.md, Lock-out): epochs of a
// chain a departed holder knows are reported retired once its deadline has passed, and come back
// only when the leader confirms the same key without that holder.
import { describe, expect, it } from "vitest";
import { ratchetGroupKey } from "../../web/src/core/identifiers.js";
import { KeyStore } from "../../web/src/core/key-store.js";
import type { ScheduleAction } from "../../web/src/core/schedule-types.js";

function store() {
  const actions: ScheduleAction[] = [];
  const keys = new KeyStore((action) => actions.push(action));
  const shown = () => {
    const held = new Map<number, Uint8Array>();
    for (const action of actions) {
      if (action.type === "install") held.set(action.epoch, action.groupKey);
      if (action.type === "retire") held.delete(action.epoch);
    }
    return held;
  };
  return { keys, actions, shown };
}

const LEAVER = 3;

function epochsOf(held: ReadonlyMap<number, Uint8Array>): number[] {
  return [...held.keys()].sort((a, b) => a - b);
}
const lockedOutByLeaver = (holders: ReadonlySet<number>) => holders.has(LEAVER);

describe("KeyStore.withhold", () => {
  it("reports every epoch of the leaver's chain retired, and nothing else", () => {
    const { keys, shown } = store();
    const old = new Uint8Array(32).fill(1);
    keys.switchTo(
      { epoch: 4, groupKey: old, chainStart: 1, sourceSeq: 1, holders: new Set([1, 2, LEAVER]) },
      0,
    );
    const fresh = new Uint8Array(32).fill(9);
    keys.setPending({
      epoch: 5,
      groupKey: fresh,
      chainStart: 5,
      sourceSeq: 1,
      holders: new Set([1, 2]),
      sourceId: "leader",
    });
    expect(epochsOf(shown())).toEqual([4, 5, 6, 7]);
    keys.withhold(lockedOutByLeaver);
    // The current key is the leaver's chain; the pending fresh key and its look-ahead are not.
    expect(epochsOf(shown())).toEqual([5, 6, 7]);
    expect(keys.installedEpochs()).toEqual([5, 6, 7]);
    expect(shown().get(5)).toEqual(fresh);
    expect(shown().get(6)).toEqual(ratchetGroupKey(fresh));
    // Asking again changes nothing (no repeated retire actions).
    const before = shown();
    keys.withhold(lockedOutByLeaver);
    expect(shown()).toEqual(before);
  });

  it("gives the answered epoch back when the leader confirms it without the departed holder", () => {
    const { keys, actions, shown } = store();
    const key = new Uint8Array(32).fill(2);
    keys.switchTo(
      { epoch: 8, groupKey: key, chainStart: 7, sourceSeq: 1, holders: new Set([1, LEAVER]) },
      0,
    );
    expect(epochsOf(shown())).toEqual([8, 9, 10]);
    keys.withhold(lockedOutByLeaver);
    expect(shown().size).toBe(0);
    const retired = actions.length;
    keys.reholdCurrent(new Set([1]));
    keys.withhold(lockedOutByLeaver);
    expect(actions.length).toBeGreaterThan(retired);
    expect(shown().get(8)).toEqual(key);
    expect(keys.currentHolders()?.has(LEAVER)).toBe(false);
    // The answer may be stale: the look-ahead and the ratchets to come keep the chain's holders.
    expect(epochsOf(shown())).toEqual([8]);
    expect(keys.current?.holders.has(LEAVER)).toBe(true);
  });

  it("lets a withheld epoch go for good when it is retired, and takes a new key there", () => {
    const { keys, shown } = store();
    const old = new Uint8Array(32).fill(3);
    keys.switchTo(
      { epoch: 2, groupKey: old, chainStart: 1, sourceSeq: 1, holders: new Set([LEAVER]) },
      0,
    );
    keys.withhold(lockedOutByLeaver);
    expect(shown().size).toBe(0);
    const next = new Uint8Array(32).fill(4);
    keys.switchTo(
      { epoch: 3, groupKey: next, chainStart: 3, sourceSeq: 1, holders: new Set([1]) },
      0,
    );
    keys.withhold(lockedOutByLeaver);
    // Epoch 3 had the old chain's look-ahead (withheld); the new key is installed there.
    expect(shown().get(3)).toEqual(next);
    keys.retireBelow(3);
    keys.withhold(() => false);
    expect(shown().has(2)).toBe(false);
    expect(keys.installedEpochs()).toEqual([3, 4, 5]);
  });
});
