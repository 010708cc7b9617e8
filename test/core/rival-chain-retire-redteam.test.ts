// Red team (round 42, helper-38): a `ratchet-join` or `current` key of a lower-seq leader for the epoch we
// hold (docs/key-schedule.md, The leader: "the lower leader seq wins") moves us to ANOTHER chain,
// but switchTo decides "new chain" by chainStart alone. Two leaders whose fresh keys started at
// the same epoch (a split view: L's hello reached M late, so M took B's keys meanwhile) look like
// one chain: the losing chain's past epochs are never retired after the switch (the three "recent"
// ones stay however long ago), and they keep the losing chain's own holder set, which a leave of a
// seq M never saw join (countAsPossibleHolder) does not reach. A holder of B's chain whose join the
// server hid from M leaves: M still accepts B's chain's epochs it can derive, for as long as M
// stays on L's epoch 3 (here the whole minute checked, nothing withheld from M but B's frames).
import { describe, expect, it } from "vitest";
import { keyCheckOf, ratchetGroupKey } from "../../web/src/core/identifiers.js";
import type { KeyMessageBody } from "../../web/src/core/key-messages.js";
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import { DEFAULT_SCHEDULE_CONFIG } from "../../web/src/core/schedule-types.js";
import { memberId as ID, runWakes } from "./sim/leader-frames.js";
import { seededRandom } from "./sim/seeded-random.js";

const config = DEFAULT_SCHEDULE_CONFIG;
const L = ID(1);
const B = ID(2);
const B1 = new Uint8Array(32).fill(21);
const B2 = ratchetGroupKey(B1); // handed to X (seq 5) as its ratchet-join by B
const B3 = ratchetGroupKey(B2);
const L1 = new Uint8Array(32).fill(31);
const L3 = ratchetGroupKey(ratchetGroupKey(L1));

/** The key M holds for `epoch` (withheld or not): the schedule's own store. */
const heldAt = (m: KeySchedule, epoch: number) =>
  (m as unknown as { keys: { installedKey(e: number): Uint8Array | undefined } }).keys.installedKey(
    epoch,
  );
const isB2 = (k: Uint8Array | undefined) =>
  k !== undefined && Buffer.from(k).equals(Buffer.from(B2));

function key(
  from: string,
  leaderSeq: number,
  epoch: number,
  groupKey: Uint8Array,
  kind: string,
  holders: number[],
) {
  const message = { type: "key", epoch, groupKey, kind, chainStart: 1, leaderSeq, holders };
  return { type: "key-message" as const, from, message: message as KeyMessageBody };
}
function broadcast(
  from: string,
  leaderSeq: number,
  kind: "ratchet" | "commit",
  epoch: number,
  groupKey: Uint8Array,
) {
  const body = { kind, epoch, chainStart: 1, leaderSeq, keyCheck: keyCheckOf(groupKey) };
  return { type: "broadcast" as const, from, body };
}

describe("a lower-seq leader's key for our epoch, on a chain with the same start", () => {
  it("retires the losing chain's past epochs: none a hidden leaver of it derives stays accepted", () => {
    // M (seq 3) joins: B (2) is verified, L (1) still proving itself to M.
    const m = new KeySchedule(config, seededRandom("rival"));
    m.handle(
      {
        type: "joined",
        self: { participantId: ID(3), seq: 3 },
        members: [{ participantId: B, seq: 2 }],
        pending: [{ participantId: L, seq: 1 }],
      },
      0,
    );
    // The server holds L's hello to M back: L expires for M, and B (which, the server having
    // hidden L from it too, leads) keys M.
    m.handle({ type: "member-expired", participantId: L }, 5_000);
    m.handle(key(B, 2, 1, B1, "fresh", [2, 3]), 5_100);
    m.handle(broadcast(B, 2, "commit", 1, B1), 5_200);
    expect(m.sendingEpoch).toBe(1);
    // X (seq 5) joins, hidden from M: B ratchets to 2 for it and hands X B2; then B ratchets to 3.
    m.handle(broadcast(B, 2, "ratchet", 2, B2), 6_000);
    m.handle(broadcast(B, 2, "ratchet", 3, B3), 7_000);
    expect(m.sendingEpoch).toBe(3);
    // L's hello reaches M: L leads. L answers M's request with its own epoch 3 (chain start 1).
    m.handle({ type: "member-joined", member: { participantId: L, seq: 1 } }, 8_000);
    m.handle(key(L, 1, 3, L3, "current", [1, 2, 3]), 8_100);
    expect(m.sendingEpoch, "M follows the lower-seq leader").toBe(3);
    // The attack's footing: right after the switch M still holds B's epoch 2 (in its grace).
    expect(m.installedEpochs()).toContain(2);
    expect(isB2(heldAt(m, 2)), "epoch 2 holds B2").toBe(true);
    // X leaves; to M it is a seq it never saw.
    m.handle({ type: "member-left", participantId: ID(5), seq: 5 }, 9_000);
    const deadline = 9_000 + config.lockoutGraceMs;
    let acceptsB2Ms = 0;
    runWakes(m, 9_000, 69_000, (now) => {
      if (now > deadline && isB2(heldAt(m, 2)) && m.installedEpochs().includes(2)) {
        acceptsB2Ms += 10;
      }
    });
    expect(acceptsB2Ms, "ms M accepts B2, which X derives, after X's deadline").toBe(0);
  });
});
