// The leader's `kind: current` answer gives a member's withheld keys back (docs/key-schedule.md,
// Lock-out). The server may hold that answer back while the call goes on, so it may be stale: a
// joiner keyed after the leader wrote it is missing from its holder list. These attacks try to
// get a member to accept, or send with, a key such a joiner can derive once it has left.
import { describe, expect, it } from "vitest";
import { keyCheckOf, ratchetGroupKey } from "../../web/src/core/identifiers.js";
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import type { KeyMessageBody } from "../../web/src/core/key-messages.js";
import { DEFAULT_SCHEDULE_CONFIG, type ScheduleAction } from "../../web/src/core/schedule-types.js";
import { seededRandom } from "./sim/seeded-random.js";

const ID = (n: number) => `participant${String(n).padStart(11, "0")}`;
const config = DEFAULT_SCHEDULE_CONFIG;
const LEADER = ID(1);
const K1 = new Uint8Array(32).fill(5);

function keyMessage(
  epoch: number,
  groupKey: Uint8Array,
  kind: "fresh" | "current",
  holders: number[],
): { type: "key-message"; from: string; message: KeyMessageBody } {
  const message = { type: "key", epoch, groupKey, kind, chainStart: 1, leaderSeq: 1, holders };
  return { type: "key-message", from: LEADER, message: message as KeyMessageBody };
}

function requests(actions: ScheduleAction[]) {
  return actions.filter((a) => a.type === "send" && a.message.type === "key-request");
}

/** Member seq 2 with the leader (seq 1) and seq 3, keyed at epoch 1 (chain start 1) at 200 ms. */
function keyedMember() {
  const member = new KeySchedule(config, seededRandom("rehold"));
  member.handle(
    {
      type: "joined",
      self: { participantId: ID(2), seq: 2 },
      members: [
        { participantId: LEADER, seq: 1 },
        { participantId: ID(3), seq: 3 },
      ],
      pending: [],
    },
    0,
  );
  member.handle(keyMessage(1, K1, "fresh", [1, 2, 3]), 100);
  const commit = { kind: "commit" as const, epoch: 1, chainStart: 1, leaderSeq: 1 };
  member.handle(
    { type: "broadcast", from: LEADER, body: { ...commit, keyCheck: keyCheckOf(K1) } },
    200,
  );
  expect(member.sendingEpoch).toBe(1);
  expect(member.installedEpochs()).toEqual([1, 2, 3]);
  return member;
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
  member.handle(keyMessage(1, K1, "current", [1, 2, 3]), 8_000);
  const accepted = member.installedEpochs();
  const keyCheck = keyCheckOf(ratchetGroupKey(K1));
  const ratchet = { kind: "ratchet" as const, epoch: 2, chainStart: 1, leaderSeq: 1, keyCheck };
  member.handle({ type: "broadcast", from: LEADER, body: ratchet }, 8_100);
  return accepted;
}

describe("a stale `current` answer", () => {
  it("never gives back a key a joiner that left after it was written can derive", () => {
    const member = keyedMember();
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
    const member = keyedMember();
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
    const member = keyedMember();
    fakeLeave(member, 1_000);
    member.handle(keyMessage(1, K1, "current", [1, 2, 3]), 4_000);
    expect(member.sendingEpoch).toBe(1);
    // Even a seq we never saw may be a joiner whose join the server hid from us: the look-ahead
    // stays withheld until a fresh key, which our request (naming epoch 2) asked for.
    expect(member.installedEpochs()).toEqual([1]);
  });

  it("clears, for the answered epoch, a member the leader had already removed", () => {
    // Y (seq 3) is here when the key arrives; its leave reaches us only after the key (the
    // leader made the key after seeing Y go), so Y is counted as a holder at first.
    const member = keyedMember();
    member.handle({ type: "member-left", participantId: ID(3), seq: 3 }, 1_000);
    member.handle({ type: "tick" }, 1_000 + config.lockoutGraceMs);
    expect(member.sendingEpoch).toBe(0);
    member.handle(keyMessage(1, K1, "current", [1, 2]), 4_000);
    expect(member.sendingEpoch).toBe(1);
    expect(member.installedEpochs()).toContain(1);
  });
});
