// A leader is never kept silent by a holder it cannot rule out (docs/key-schedule.md, Lock-out):
// it knows whom it sent its own fresh key to, and when its key is locked out all the same it
// re-keys at once rather than wait for the next periodic fresh key (up to five minutes).
import { describe, expect, it } from "vitest";
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import { DEFAULT_SCHEDULE_CONFIG, type ScheduleAction } from "../../web/src/core/schedule-types.js";
import { seededRandom } from "./sim/seeded-random.js";

const ID = (n: number) => `participant${String(n).padStart(11, "0")}`;
const config = DEFAULT_SCHEDULE_CONFIG;

function freshRotations(actions: ScheduleAction[]) {
  return actions.filter((a) => a.type === "rotation" && a.fresh);
}

describe("the leader's own key", () => {
  it("is not locked out by a lower seq that leaves unverified while its first key is pending", () => {
    // seq 2 takes over from seq 1, which never proved itself, and sends its first fresh key to
    // seq 3; seq 1's leave arrives while that key waits for its ack.
    const leader = new KeySchedule(config, seededRandom("own-key"));
    leader.handle(
      {
        type: "joined",
        self: { participantId: ID(2), seq: 2 },
        members: [{ participantId: ID(3), seq: 3 }],
        pending: [{ participantId: ID(1), seq: 1 }],
      },
      0,
    );
    const takeover = leader.handle({ type: "member-expired", participantId: ID(1) }, 1_000);
    expect(freshRotations(takeover)).toHaveLength(1);
    leader.handle({ type: "member-left", participantId: ID(1), seq: 1 }, 1_100);
    leader.handle(
      { type: "key-message", from: ID(3), message: { type: "ack", epoch: 1, have: 0 } },
      1_200,
    );
    expect(leader.sendingEpoch).toBe(1);
    // Past seq 1's deadline the leader still sends with, and decrypts, its key.
    leader.handle({ type: "tick" }, 1_100 + config.lockoutGraceMs + 1);
    expect(leader.sendingEpoch).toBe(1);
    expect(leader.installedEpochs()).toContain(1);
  });

  it("re-keys at once when its current key is locked out all the same", () => {
    const leader = new KeySchedule(config, seededRandom("own-key-2"));
    leader.handle(
      {
        type: "joined",
        self: { participantId: ID(1), seq: 1 },
        members: [{ participantId: ID(2), seq: 2 }],
        pending: [],
      },
      0,
    );
    leader.handle(
      { type: "key-message", from: ID(2), message: { type: "ack", epoch: 1, have: 0 } },
      100,
    );
    expect(leader.sendingEpoch).toBe(1);
    // The socket says seq 9 (never seen) left; its member-left never comes. It may hold what we
    // hold, so at its deadline epoch 1 is locked out.
    leader.handle({ type: "departure-heard", participantId: ID(9), seq: 9 }, 1_000);
    const locked = leader.handle({ type: "tick" }, 1_000 + config.lockoutGraceMs);
    expect(leader.sendingEpoch).toBe(0);
    const wake = leader.nextWakeAt();
    expect(wake).toBeDefined();
    const rekey = [...locked, ...leader.handle({ type: "tick" }, wake ?? 0)];
    expect(freshRotations(rekey)).toHaveLength(1);
    const epoch = leader.handle(
      { type: "key-message", from: ID(2), message: { type: "ack", epoch: 2, have: 1 } },
      (wake ?? 0) + 100,
    );
    expect(epoch.some((a) => a.type === "switch" && a.epoch === 2)).toBe(true);
    expect(leader.sendingEpoch).toBe(2);
  });
});
