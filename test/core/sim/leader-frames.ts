// Hand-made frames from the key leader (seq 1, chain start 1 unless told) for tests that drive one
// member's KeySchedule directly, as a server that holds frames back and delivers them later would:
// key deliveries and the bodies of the leader's broadcasts (the session checks signatures, so the
// schedule takes these as checked), a member keyed at epoch 1, and a loop over the member's wakes.
import { expect } from "vitest";
import { keyCheckOf } from "../../../web/src/core/identifiers.js";
import type { KeyMessageBody } from "../../../web/src/core/key-messages.js";
import { KeySchedule } from "../../../web/src/core/key-schedule.js";
import { DEFAULT_SCHEDULE_CONFIG } from "../../../web/src/core/schedule-types.js";
import { seededRandom } from "./seeded-random.js";

export const memberId = (n: number) => `participant${String(n).padStart(11, "0")}`;
export const LEADER = memberId(1);
/** The leader's first fresh key (epoch 1). */
export const K1 = new Uint8Array(32).fill(5);

type KeyKind = "fresh" | "current" | "ratchet-join";

/** The leader's key envelope for `epoch`, opened: a `key-message` event for the member. */
export function keyDelivery(
  epoch: number,
  groupKey: Uint8Array,
  kind: KeyKind,
  holders: number[],
  chainStart = 1,
): { type: "key-message"; from: string; message: KeyMessageBody } {
  const message = { type: "key", epoch, groupKey, kind, chainStart, leaderSeq: 1, holders };
  return { type: "key-message", from: LEADER, message: message as KeyMessageBody };
}

/** The leader's checked broadcast: a commit starts its own chain, a ratchet stays on `chainStart`. */
export function leaderBroadcast(
  kind: "commit" | "ratchet",
  epoch: number,
  groupKey: Uint8Array,
  chainStart = kind === "commit" ? epoch : 1,
) {
  const body = { kind, epoch, chainStart, leaderSeq: 1, keyCheck: keyCheckOf(groupKey) };
  return { type: "broadcast" as const, from: LEADER, body };
}

/** Member seq 2 with the leader (seq 1) and seq 3, keyed at epoch 1 (chain start 1) at 200 ms. */
export function keyedMember(seed: string): KeySchedule {
  const member = new KeySchedule(DEFAULT_SCHEDULE_CONFIG, seededRandom(seed));
  member.handle(
    {
      type: "joined",
      self: { participantId: memberId(2), seq: 2 },
      members: [
        { participantId: LEADER, seq: 1 },
        { participantId: memberId(3), seq: 3 },
      ],
      pending: [],
    },
    0,
  );
  member.handle(keyDelivery(1, K1, "fresh", [1, 2, 3]), 100);
  member.handle(leaderBroadcast("commit", 1, K1), 200);
  expect(member.sendingEpoch).toBe(1);
  expect(member.installedEpochs()).toEqual([1, 2, 3]);
  return member;
}

/** Steps the clock by 10 ms from `from` to `until`, waking the member when it asks, then `each`. */
export function runWakes(
  member: KeySchedule,
  from: number,
  until: number,
  each: (now: number) => void = () => {},
): void {
  for (let now = from; now <= until; now += 10) {
    const wake = member.nextWakeAt();
    if (wake !== undefined && wake <= now) member.handle({ type: "tick" }, now);
    each(now);
  }
}
