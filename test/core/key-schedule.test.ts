// Unit tests of the pure key schedule (docs/key-schedule.md): events in, actions out, on a
// hand-driven clock.
import { describe, expect, it } from "vitest";
import { keyCheckOf, ratchetGroupKey } from "../../web/src/core/identifiers.js";
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import { DEFAULT_SCHEDULE_CONFIG, type ScheduleAction } from "../../web/src/core/schedule-types.js";
import { seededRandom } from "./sim/seeded-random.js";

const ID = (n: number) => `participant${String(n).padStart(11, "0")}`; // 22 chars
const config = DEFAULT_SCHEDULE_CONFIG;

function sends(actions: ScheduleAction[]) {
  return actions.flatMap((a) => (a.type === "send" ? [a] : []));
}
function broadcasts(actions: ScheduleAction[]) {
  return actions.flatMap((a) => (a.type === "broadcast" ? [a.body] : []));
}

function rotations(actions: ScheduleAction[]) {
  return actions.flatMap((a) => (a.type === "rotation" ? [a] : []));
}

/** A leader (seq 1) with members 2..n, keyed at epoch 1 after all acks; its last rotation began at 0. */
function keyedLeader(n: number) {
  const leader = new KeySchedule(config, seededRandom(`leader-${n}`));
  const members = Array.from({ length: n - 1 }, (_, i) => ({
    participantId: ID(i + 2),
    seq: i + 2,
  }));
  const out = leader.handle(
    { type: "joined", self: { participantId: ID(1), seq: 1 }, members, pending: [] },
    0,
  );
  const fresh = sends(out);
  expect(fresh).toHaveLength(n - 1);
  for (const member of members) {
    leader.handle(
      {
        type: "key-message",
        from: member.participantId,
        message: { type: "ack", epoch: 1, have: 0 },
      },
      300,
    );
  }
  expect(leader.sendingEpoch).toBe(1);
  return { leader, members, fresh };
}

describe("KeySchedule", () => {
  it("a lone first member becomes leader and keys epoch 1 at once", () => {
    const schedule = new KeySchedule(config, seededRandom(1));
    const out = schedule.handle(
      { type: "joined", self: { participantId: ID(1), seq: 7 }, members: [], pending: [] },
      1_000,
    );
    expect(schedule.isLeader()).toBe(true);
    expect(schedule.sendingEpoch).toBe(1);
    expect(out.some((a) => a.type === "switch" && a.epoch === 1)).toBe(true);
    expect(schedule.installedEpochs()).toEqual([1, 2, 3]); // current + two look-ahead ratchets
    expect(sends(out)).toEqual([]);
  });

  it("the leader commits a fresh key only after every ack, and never to a non-member", () => {
    const { leader } = keyedLeader(3);
    expect(leader.installedEpochs()).toEqual([1, 2, 3]);
    const ghost = leader.handle(
      { type: "key-message", from: ID(99), message: { type: "key-request", epoch: 0, have: 0 } },
      400,
    );
    expect(ghost).toEqual([]);
  });

  it("a key request before the joiner's rotation is ignored (no key older than the join)", () => {
    const { leader } = keyedLeader(3);
    // The first join rotates at once; ID(9), 50 ms later, waits for the spacing.
    leader.handle({ type: "member-joined", member: { participantId: ID(8), seq: 8 } }, 1_000);
    leader.handle({ type: "member-joined", member: { participantId: ID(9), seq: 9 } }, 1_050);
    const early = leader.handle(
      { type: "key-message", from: ID(9), message: { type: "key-request", epoch: 0, have: 0 } },
      1_100,
    );
    expect(sends(early)).toEqual([]);
    const rotation = leader.handle({ type: "tick" }, 1_000 + config.coalesceMs);
    expect(sends(rotation).map((s) => [s.to, s.message.type === "key" && s.message.kind])).toEqual([
      [ID(9), "ratchet-join"],
    ]);
    expect(broadcasts(rotation).map((b) => [b.kind, b.epoch])).toEqual([["ratchet", 3]]);
    // Now it is covered: a later request is answered with the current key.
    const later = leader.handle(
      { type: "key-message", from: ID(9), message: { type: "key-request", epoch: 0, have: 0 } },
      3_000,
    );
    expect(
      sends(later).map((s) => s.message.type === "key" && [s.message.kind, s.message.epoch]),
    ).toEqual([["current", 3]]);
  });

  it("a leave while a fresh key is in flight cancels it and re-keys above it without the leaver", () => {
    const { leader } = keyedLeader(4);
    const fresh = leader.handle({ type: "member-left", participantId: ID(4), seq: 4 }, 1_000);
    expect(sends(fresh).map((s) => s.to)).toEqual([ID(2), ID(3)]);
    const acked = leader.handle(
      { type: "key-message", from: ID(2), message: { type: "ack", epoch: 2, have: 1 } },
      1_050,
    );
    expect(acked.some((a) => a.type === "commit")).toBe(false);
    const aborted = leader.handle({ type: "member-left", participantId: ID(3), seq: 3 }, 1_060);
    // The re-key waits for the spacing after the aborted rotation's start.
    expect(sends(aborted)).toEqual([]);
    expect(leader.nextWakeAt()).toBe(1_000 + config.coalesceMs);
    // ID(3)'s ack arriving late must not commit epoch 2 either.
    const late = leader.handle(
      { type: "key-message", from: ID(3), message: { type: "ack", epoch: 2, have: 1 } },
      1_070,
    );
    expect(late.some((a) => a.type === "commit" || a.type === "switch")).toBe(false);
    const rekey = leader.handle({ type: "tick" }, 1_000 + config.coalesceMs);
    expect(sends(rekey).map((s) => [s.to, s.message.epoch])).toEqual([[ID(2), 3]]);
    const done = leader.handle(
      { type: "key-message", from: ID(2), message: { type: "ack", epoch: 3, have: 1 } },
      1_600,
    );
    expect(
      done.filter((a) => a.type === "commit").map((a) => a.type === "commit" && a.epoch),
    ).toEqual([3]);
    expect(leader.sendingEpoch).toBe(3);
  });

  it("the commit barrier times out after ackTimeoutMs", () => {
    const { leader } = keyedLeader(3);
    leader.handle({ type: "member-joined", member: { participantId: ID(5), seq: 5 } }, 1_000);
    leader.handle({ type: "member-left", participantId: ID(3), seq: 3 }, 1_010);
    // The join ratcheted at once (epoch 2); the leave's fresh key waits for the spacing.
    const fresh = leader.handle({ type: "tick" }, 1_000 + config.coalesceMs);
    expect(
      sends(fresh)
        .map((s) => s.to)
        .sort(),
    ).toEqual([ID(2), ID(5)]);
    const deadline = 1_000 + config.coalesceMs + config.ackTimeoutMs;
    const before = leader.handle({ type: "tick" }, deadline - 1);
    expect(before.some((a) => a.type === "commit")).toBe(false);
    expect(leader.nextWakeAt()).toBe(deadline);
    const out = leader.handle({ type: "tick" }, deadline);
    const commit = out.find((a) => a.type === "commit");
    expect(commit).toMatchObject({ type: "commit", epoch: 3, acked: 0, timedOut: true });
  });

  it("a member follows ratchets, ignores replays and asks when it cannot derive", () => {
    const member = new KeySchedule(config, seededRandom("m"));
    member.handle(
      {
        type: "joined",
        self: { participantId: ID(2), seq: 2 },
        members: [{ participantId: ID(1), seq: 1 }],
        pending: [],
      },
      0,
    );
    const groupKey = new Uint8Array(32).fill(7);
    const keyed = member.handle(
      {
        type: "key-message",
        from: ID(1),
        message: {
          type: "key",
          epoch: 5,
          groupKey,
          kind: "ratchet-join",
          chainStart: 3,
          leaderSeq: 1,
          holders: [],
        },
      },
      100,
    );
    expect(keyed.some((a) => a.type === "switch" && a.epoch === 5)).toBe(true);
    const next = ratchetGroupKey(groupKey);
    const body = {
      kind: "ratchet" as const,
      epoch: 6,
      chainStart: 3,
      leaderSeq: 1,
      keyCheck: keyCheckOf(next),
    };
    member.handle({ type: "broadcast", from: ID(1), body }, 200);
    expect(member.sendingEpoch).toBe(6);
    // A replay of the same broadcast, or of the old key delivery, changes nothing.
    expect(member.handle({ type: "broadcast", from: ID(1), body }, 300)).toEqual([]);
    // A ratchet whose key check does not match what we derive: ask the leader at once.
    const wrong = { ...body, epoch: 7, keyCheck: new Uint8Array(16) };
    const asked = member.handle({ type: "broadcast", from: ID(1), body: wrong }, 400);
    expect(sends(asked).map((s) => [s.to, s.message.type])).toEqual([[ID(1), "key-request"]]);
    // Only the leader (or a higher epoch) is believed: a non-leader member's lower claim is ignored.
    member.handle({ type: "member-joined", member: { participantId: ID(3), seq: 3 } }, 500);
    const rogue = member.handle(
      {
        type: "key-message",
        from: ID(3),
        message: {
          type: "key",
          epoch: 6,
          groupKey: new Uint8Array(32),
          kind: "current",
          chainStart: 6,
          leaderSeq: 3,
          holders: [],
        },
      },
      600,
    );
    expect(rogue.some((a) => a.type === "switch")).toBe(false);
    expect(member.sendingEpoch).toBe(6);
  });

  it("a member tells the leader when a fresh key arrives for an epoch it is already past", () => {
    const member = new KeySchedule(config, seededRandom("s"));
    member.handle(
      {
        type: "joined",
        self: { participantId: ID(3), seq: 3 },
        members: [{ participantId: ID(2), seq: 2 }],
        pending: [],
      },
      0,
    );
    member.handle(
      {
        type: "key-message",
        from: ID(2),
        message: {
          type: "key",
          epoch: 8,
          groupKey: new Uint8Array(32).fill(1),
          kind: "current",
          chainStart: 8,
          leaderSeq: 2,
          holders: [],
        },
      },
      10,
    );
    const out = member.handle(
      {
        type: "key-message",
        from: ID(2),
        message: {
          type: "key",
          epoch: 7,
          groupKey: new Uint8Array(32).fill(2),
          kind: "fresh",
          chainStart: 7,
          leaderSeq: 2,
          holders: [],
        },
      },
      20,
    );
    expect(sends(out).map((s) => s.message)).toEqual([{ type: "ack", epoch: 7, have: 8 }]);
  });

  it("a stale ack makes the leader re-key above the member's epoch", () => {
    const { leader } = keyedLeader(3);
    leader.handle({ type: "member-left", participantId: ID(3), seq: 3 }, 1_000);
    leader.handle({ type: "member-joined", member: { participantId: ID(4), seq: 4 } }, 1_000);
    leader.handle({ type: "tick" }, 1_200);
    const out = leader.handle(
      { type: "key-message", from: ID(2), message: { type: "ack", epoch: 2, have: 9 } },
      1_250,
    );
    const rekey = sends(out).map((s) => s.message.epoch);
    expect(rekey).toEqual([10, 10]);
  });

  it("a single join rotates at once; a second join 50 ms later waits until first + coalesceMs", () => {
    const { leader } = keyedLeader(3);
    const first = leader.handle(
      { type: "member-joined", member: { participantId: ID(7), seq: 7 } },
      5_000,
    );
    expect(rotations(first).map((r) => [r.epoch, r.reason])).toEqual([[2, "join"]]);
    expect(sends(first).map((s) => s.to)).toEqual([ID(7)]);
    expect(leader.sendingEpoch).toBe(2);
    const second = leader.handle(
      { type: "member-joined", member: { participantId: ID(8), seq: 8 } },
      5_050,
    );
    expect(second).toEqual([]);
    expect(leader.nextWakeAt()).toBe(5_000 + config.coalesceMs);
    expect(rotations(leader.handle({ type: "tick" }, 5_000 + config.coalesceMs - 1))).toEqual([]);
    const deferred = leader.handle({ type: "tick" }, 5_000 + config.coalesceMs);
    expect(rotations(deferred).map((r) => r.epoch)).toEqual([3]);
    expect(sends(deferred).map((s) => s.to)).toEqual([ID(8)]);
    // Long after: the next join is immediate again.
    const third = leader.handle(
      { type: "member-joined", member: { participantId: ID(9), seq: 9 } },
      5_000 + 3 * config.coalesceMs,
    );
    expect(rotations(third).map((r) => r.epoch)).toEqual([4]);
  });

  it("a burst of k joins costs at most 2 rotations and exactly k key envelopes", () => {
    const { leader } = keyedLeader(3);
    const joiners = [10, 11, 12, 13, 14].map((n) => ({ participantId: ID(n), seq: n }));
    const actions: ScheduleAction[] = [];
    joiners.forEach((member, i) => {
      actions.push(...leader.handle({ type: "member-joined", member }, 2_000 + 30 * i));
    });
    for (let i = 0; i < 5; i++) {
      const at = leader.nextWakeAt();
      if (at === undefined || at > 2_000 + config.coalesceMs) break;
      actions.push(...leader.handle({ type: "tick" }, at));
    }
    expect(rotations(actions).length).toBeLessThanOrEqual(2);
    expect(rotations(actions).every((r) => !r.fresh)).toBe(true);
    const keyed = sends(actions).map((s) => s.to);
    expect(keyed.sort()).toEqual(joiners.map((j) => j.participantId).sort());
  });

  it("a burst of leaves costs at most 2 rotations and never commits a key a leaver was sent", () => {
    const { leader } = keyedLeader(6);
    const actions: ScheduleAction[] = [];
    const leftAt = new Map<string, number>();
    [6, 5, 4].forEach((n, i) => {
      leftAt.set(ID(n), actions.length);
      actions.push(
        ...leader.handle({ type: "member-left", participantId: ID(n), seq: n }, 2_000 + 30 * i),
      );
    });
    // Only ID(2) and ID(3) remain; they ack whatever fresh key reaches them.
    for (let i = 0; i < 6 && leader.sendingEpoch < 3; i++) {
      const at = leader.nextWakeAt() ?? 2_000 + config.coalesceMs;
      const step = leader.handle({ type: "tick" }, at);
      actions.push(...step);
      for (const send of sends(step)) {
        actions.push(
          ...leader.handle(
            {
              type: "key-message",
              from: send.to,
              message: { type: "ack", epoch: send.message.epoch, have: 1 },
            },
            at + 10,
          ),
        );
      }
    }
    expect(rotations(actions).length).toBeLessThanOrEqual(2);
    const commits = actions.flatMap((a) => (a.type === "commit" ? [a.epoch] : []));
    // Epoch 2 went to leavers and was aborted; epoch 3 went only to the two who stayed.
    expect(commits).toEqual([3]);
    const committed = 3;
    expect(sends(actions).filter((s) => s.message.epoch === committed)).toHaveLength(2);
    // No leaver was ever sent the committed epoch's key.
    for (const send of sends(actions)) {
      if (send.message.epoch === committed) expect([ID(2), ID(3)]).toContain(send.to);
    }
    expect(leader.sendingEpoch).toBe(committed);
  });

  it("reset drops every key", () => {
    const { leader } = keyedLeader(2);
    const out = leader.handle({ type: "reset" }, 5_000);
    expect(
      out.filter((a) => a.type === "retire").map((a) => a.type === "retire" && a.epoch),
    ).toEqual([1, 2, 3]);
    expect(leader.installedEpochs()).toEqual([]);
    expect(leader.nextWakeAt()).toBeUndefined();
  });
});
