// The leader's `kind: current` answer gives a member's withheld keys back (docs/key-schedule.md,
// Lock-out). The server may hold that answer back while the call goes on, so it may be stale: a
// joiner keyed after the leader wrote it is missing from its holder list. These attacks try to
// get a member to accept, or send with, a key such a joiner can derive once it has left.
import { describe, expect, it } from "vitest";
import { keyCheckOf, ratchetGroupKey } from "../../web/src/core/identifiers.js";
import type { KeySchedule } from "../../web/src/core/key-schedule.js";
import { DEFAULT_SCHEDULE_CONFIG, type ScheduleAction } from "../../web/src/core/schedule-types.js";
import { memberId as ID, K1, keyDelivery, keyedMember, LEADER } from "./sim/leader-frames.js";

const config = DEFAULT_SCHEDULE_CONFIG;

function requests(actions: ScheduleAction[]) {
  return actions.filter((a) => a.type === "send" && a.message.type === "key-request");
}

/** A leave of a seq this member never saw (the server made it up): it counts as a holder. */
function fakeLeave(member: KeySchedule, at: number) {
  member.handle({ type: "member-left", participantId: ID(999), seq: 999 }, at);
  member.handle({ type: "tick" }, at + config.lockoutGraceMs);
  expect(member.sendingEpoch).toBe(0);
  // Locked out: it asks the leader at the next wake.
  const asked = member.handle({ type: "tick" }, member.nextWakeAt() ?? 0);
  expect(member.installedEpochs()).toEqual([]);
  expect(requests(asked)).toHaveLength(1);
  // Naming the epoch above the locked-out key: the leader's next rotation is then a fresh key.
  expect(requests(asked)[0]).toMatchObject({ message: { type: "key-request", epoch: 2 } });
}

/**
 * The held-back answer (holders 1, 2, 3) arrives at 8 s, then the leader's ratchet to epoch 2,
 * which X holds. Returns the epochs accepted in between.
 */
function staleAnswerThenRatchet(member: KeySchedule): number[] {
  member.handle(keyDelivery(1, K1, "current", [1, 2, 3]), 8_000);
  const accepted = member.installedEpochs();
  const keyCheck = keyCheckOf(ratchetGroupKey(K1));
  const ratchet = { kind: "ratchet" as const, epoch: 2, chainStart: 1, leaderSeq: 1, keyCheck };
  member.handle({ type: "broadcast", from: LEADER, body: ratchet }, 8_100);
  return accepted;
}

describe("a stale `current` answer", () => {
  it("never gives back a key a joiner that left after it was written can derive", () => {
    const member = keyedMember("rehold");
    fakeLeave(member, 1_000);
    // The leader's answer (holders 1, 2, 3) is held back. X (seq 4) joins: the leader ratchets to
    // epoch 2 and hands X that ratchet (the broadcast is dropped to us); X leaves.
    member.handle({ type: "member-joined", member: { participantId: ID(4), seq: 4 } }, 4_000);
    member.handle({ type: "member-left", participantId: ID(4), seq: 4 }, 5_000);
    member.handle({ type: "tick" }, 5_000 + config.lockoutGraceMs);
    // Now the stale answer arrives.
    const accepted = staleAnswerThenRatchet(member);
    expect(accepted, "X holds epoch 2 and everything after it").not.toContain(2);
    expect(accepted).not.toContain(3);
    // The leader's next ratchet (epoch 2) is one X holds: nothing is sent with it.
    expect(member.sendingEpoch).toBe(0);
    expect(member.installedEpochs()).not.toContain(2);
  });

  it("nor one whose join the server hid from us (its leave looks like a guess)", () => {
    const member = keyedMember("rehold");
    fakeLeave(member, 1_000);
    // X (seq 4) joins hidden from us; the leader ratchets to epoch 2 and hands X that ratchet (the
    // broadcast is dropped to us). X leaves: to us, a leave of a seq we never saw.
    member.handle({ type: "member-left", participantId: ID(4), seq: 4 }, 5_000);
    member.handle({ type: "tick" }, 5_000 + config.lockoutGraceMs);
    expect(staleAnswerThenRatchet(member)).not.toContain(2);
    expect(member.sendingEpoch).toBe(0);
    expect(member.installedEpochs()).not.toContain(2);
  });

  it("clears a holder this member only guessed, for the answered epoch, and asks for a fresh key", () => {
    const member = keyedMember("rehold");
    fakeLeave(member, 1_000);
    member.handle(keyDelivery(1, K1, "current", [1, 2, 3]), 4_000);
    expect(member.sendingEpoch).toBe(1);
    // Even a seq we never saw may be a joiner whose join the server hid from us: the look-ahead
    // stays withheld until a fresh key, which our request (naming epoch 2) asked for.
    expect(member.installedEpochs()).toEqual([1]);
  });

  it("clears, for the answered epoch, a member the leader had already removed", () => {
    // Y (seq 3) is here when the key arrives; its leave reaches us only after the key (the
    // leader made the key after seeing Y go), so Y is counted as a holder at first.
    const member = keyedMember("rehold");
    member.handle({ type: "member-left", participantId: ID(3), seq: 3 }, 1_000);
    member.handle({ type: "tick" }, 1_000 + config.lockoutGraceMs);
    expect(member.sendingEpoch).toBe(0);
    member.handle(keyDelivery(1, K1, "current", [1, 2]), 4_000);
    expect(member.sendingEpoch).toBe(1);
    expect(member.installedEpochs()).toContain(1);
  });
});
