// Two ids on one seq. The server (or a colluding member, who knows the call secret and can mint an
// announcement for a fresh id) makes a second id Y appear with the seq of a real joiner X that this
// member has not verified yet. Were a leave that names a seq held under another id ignored (a rule
// tried once against forged leaves), X's real leave would be dropped: X never counted as a holder
// nor departed, and this member sending under the chain the leader handed X long after X's
// deadline. A leave removes whoever holds its seq instead.
import { describe, expect, it } from "vitest";
import { keyCheckOf, ratchetGroupKey } from "../../web/src/core/identifiers.js";
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import type { KeyMessageBody } from "../../web/src/core/key-messages.js";
import { DEFAULT_SCHEDULE_CONFIG } from "../../web/src/core/schedule-types.js";
import { ackingLeader } from "./sim/acking-leader.js";
import { seededRandom } from "./sim/seeded-random.js";

const ID = (n: number) => `participant${String(n).padStart(11, "0")}`;
const config = DEFAULT_SCHEDULE_CONFIG;
const L = ID(1);
const X = ID(5);
const Y = ID(66);
const K1 = new Uint8Array(32).fill(5);

/**
 * Member M (seq 2) with leader L (1) and A (3), keyed at epoch 1. X (seq 5) announces itself; M's
 * check of X's hello is held back by the server, while L proves X and ratchets to epoch 2, handing
 * X that ratchet (ratchet-join). M follows the ratchet broadcast.
 */
function memberOnXsChain(collide: "none" | "pending" | "expired") {
  const m = new KeySchedule(config, seededRandom("m"));
  m.handle(
    {
      type: "joined",
      self: { participantId: ID(2), seq: 2 },
      members: [
        { participantId: L, seq: 1 },
        { participantId: ID(3), seq: 3 },
      ],
      pending: [],
    },
    0,
  );
  const fresh = { type: "key", epoch: 1, groupKey: K1, kind: "fresh", chainStart: 1, leaderSeq: 1 };
  const message = { ...fresh, holders: [1, 2, 3] } as KeyMessageBody;
  m.handle({ type: "key-message", from: L, message }, 100);
  const commit = { kind: "commit" as const, epoch: 1, chainStart: 1, leaderSeq: 1 };
  m.handle({ type: "broadcast", from: L, body: { ...commit, keyCheck: keyCheckOf(K1) } }, 200);
  m.handle({ type: "member-pending", member: { participantId: X, seq: 5 } }, 1_000);
  const keyCheck = keyCheckOf(ratchetGroupKey(K1));
  const ratchet = { kind: "ratchet" as const, epoch: 2, chainStart: 1, leaderSeq: 1, keyCheck };
  m.handle({ type: "broadcast", from: L, body: ratchet }, 1_100);
  expect(m.sendingEpoch).toBe(2);
  // The attack: Y shows up with X's seq (a fresh announcement; seq 5 is above every seq M has
  // verified, so the verified roster admits it as pending).
  if (collide !== "none") {
    m.handle({ type: "member-pending", member: { participantId: Y, seq: 5 } }, 1_500);
    if (collide === "expired") m.handle({ type: "member-expired", participantId: Y }, 1_600);
  }
  // X really leaves: the socket hears it, then the member-left itself. The leader re-keys without
  // X; the server withholds that fresh key (and its commit) from M.
  m.handle({ type: "departure-heard", participantId: X, seq: 5 }, 2_000);
  m.handle({ type: "member-left", participantId: X, seq: 5 }, 2_000);
  let sendingOnXsChainMs = 0;
  for (let now = 2_000; now <= 32_000; now += 10) {
    const wake = m.nextWakeAt();
    if (wake !== undefined && wake <= now) m.handle({ type: "tick" }, now);
    if (now > 2_000 + config.lockoutGraceMs && m.sendingEpoch === 2) sendingOnXsChainMs += 10;
  }
  return { m, sendingOnXsChainMs };
}

describe("a seq collision hides a real leave", () => {
  it("control: without the collision, M stops sending under X's chain by the deadline", () => {
    const { m, sendingOnXsChainMs } = memberOnXsChain("none");
    expect(sendingOnXsChainMs).toBe(0);
    expect(m.installedEpochs()).not.toContain(2);
  });

  it.each([["pending"], ["expired"]] as const)(
    "with Y %s on X's seq, M still sends and accepts under X's chain after X's deadline",
    (collide) => {
      const { m, sendingOnXsChainMs } = memberOnXsChain(collide);
      expect(sendingOnXsChainMs, "ms M sends under epoch 2 (X holds it) after X's deadline").toBe(
        0,
      );
      expect(m.installedEpochs(), "epoch 2 still accepted").not.toContain(2);
    },
  );
});

describe("the same collision at the leader", () => {
  it("the leader keeps X on its chain after X's real leave", () => {
    const {
      leader: l,
      handle,
      run,
    } = ackingLeader("l", { participantId: L, seq: 1 }, [{ participantId: ID(2), seq: 2 }]);
    // X and Y both announce with seq 5 (both above every verified seq); X proves itself, Y never.
    l.handle({ type: "member-pending", member: { participantId: X, seq: 5 } }, 1_000);
    l.handle({ type: "member-pending", member: { participantId: Y, seq: 5 } }, 1_000);
    let keyedX = 0;
    const joined = handle({ type: "member-joined", member: { participantId: X, seq: 5 } }, 1_100);
    for (const a of joined)
      if (a.type === "send" && a.to === X && a.message.type === "key") keyedX = a.message.epoch;
    l.handle({ type: "member-expired", participantId: Y }, 5_000);
    expect(keyedX, "X was keyed").toBeGreaterThan(0);
    // X really leaves.
    l.handle({ type: "departure-heard", participantId: X, seq: 5 }, 6_000);
    handle({ type: "member-left", participantId: X, seq: 5 }, 6_000);
    let freshAfter = 0;
    let keysToXAfterLeave = 0;
    run(6_000, 9_000, 10, (actions) => {
      for (const a of actions) if (a.type === "rotation" && a.fresh) freshAfter++;
    });
    const sendingAt9s = l.sendingEpoch;
    // The server turns honest; run on for 5 minutes: the leader still keys the departed X.
    run(9_000, 309_000, 100, (actions) => {
      for (const a of actions)
        if (a.type === "send" && a.to === X && a.message.type === "key") keysToXAfterLeave++;
    });
    expect(keysToXAfterLeave, "fresh keys sealed to X after its leave").toBe(0);
    expect(
      { freshAfter, sending: sendingAt9s },
      "leader re-keys fresh (or stops sending) after X's leave",
    ).not.toMatchObject({ freshAfter: 0, sending: keyedX });
  });
});
