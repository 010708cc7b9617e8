// Red team (round 40): the edge of the reholdCurrent fix. A `kind: current` answer for M's own
// current epoch only re-holds that epoch and below (key-store.ts, reholdCurrent), because the
// server may have held the answer back: a joiner keyed after the leader wrote it is missing from
// its holder list. An answer for an epoch ABOVE M's current one (M missed a ratchet), and a
// joiner's ratchet-join, used to be taken whole: the stale holder list became the holders of the
// answered epoch, of its look-ahead and of every ratchet M followed afterwards. So the server held
// back such a message, let a joiner X come and go, and then delivered it followed by the leader's
// recorded ratchet to the epoch X was handed: M, which had seen X leave after X's deadline, sent
// under the very key X was given for the whole minute checked, and accepted frames under it. Now a
// key that is not fresh never shrinks its chain's holders (key-schedule.ts, switchToDelivered).
import { describe, expect, it } from "vitest";
import { ratchetGroupKey } from "../../web/src/core/identifiers.js";
import type { KeyMessageBody } from "../../web/src/core/key-messages.js";
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import { DEFAULT_SCHEDULE_CONFIG } from "../../web/src/core/schedule-types.js";
import {
  memberId as ID,
  K1,
  keyDelivery,
  keyedMember,
  LEADER,
  leaderBroadcast,
  runWakes,
} from "./sim/leader-frames.js";
import { seededRandom } from "./sim/seeded-random.js";

const config = DEFAULT_SCHEDULE_CONFIG;
const K2 = ratchetGroupKey(K1);
const K3 = ratchetGroupKey(K2); // what the leader hands X (seq 5) as ratchet-join

describe("a stale `current` answer for an epoch above M's current one", () => {
  it("never puts M back on a key a leaver M saw leave can derive", () => {
    const m = keyedMember("m");

    // 1 000: W (seq 4) joins and stays. The leader ratchets to 2 and hands W that ratchet; the
    // server holds the ratchet broadcast back from M (M stays on epoch 1).
    m.handle({ type: "member-joined", member: { participantId: ID(4), seq: 4 } }, 1_000);
    // 2 000: a forged leave of a seq nobody has (allowed: the server lies about membership). M
    // guesses it a holder, is locked out at 4 500 and asks the leader.
    m.handle({ type: "member-left", participantId: ID(999), seq: 999 }, 2_000);
    let asked = false;
    runWakes(m, 2_000, 5_000, () => {});
    asked = m.sendingEpoch === 0;
    expect(asked, "M locked out by the guess, asking").toBe(true);
    // The leader answers with its current key, epoch 2, holders [1, 2, 3, 4]. The server holds it.
    const staleAnswer = keyDelivery(2, K2, "current", [1, 2, 3, 4]);

    // 6 000: X (seq 5) joins; the leader ratchets to 3 and hands X K3 (ratchet-join). The ratchet
    // broadcast is recorded and held back from M.
    m.handle({ type: "member-joined", member: { participantId: ID(5), seq: 5 } }, 6_000);
    const heldRatchetTo3 = leaderBroadcast("ratchet", 3, K3);
    // 8 000: X leaves; M hears it. X's deadline for M: 10 500. The leader re-keys fresh (epoch
    // 4, without X); the server drops that envelope to M (its commit may pass: see below).
    m.handle({ type: "member-left", participantId: ID(5), seq: 5 }, 8_000);
    const deadline = 8_000 + config.lockoutGraceMs;
    runWakes(m, 8_000, 12_000, () => {});
    expect(m.sendingEpoch, "locked out after X's deadline").toBe(0);

    // 12 000: the server lets the held frames through, in the order the leader sent them.
    m.handle(staleAnswer, 12_000);
    const acceptedAfterAnswer = m.installedEpochs();
    m.handle(heldRatchetTo3, 12_010);
    // The leader's later commit of its fresh epoch 4 (signed; the server lets it through).
    const K4 = new Uint8Array(32).fill(44);
    m.handle(leaderBroadcast("commit", 4, K4), 12_100);

    let sendsUnderK3Ms = 0;
    runWakes(m, 12_100, 72_100, (now) => {
      if (now > deadline && m.sendingEpoch === 3) sendsUnderK3Ms += 10;
    });
    console.log(
      `accepted right after the stale answer: [${acceptedAfterAnswer}]; M sent under epoch 3 (X holds K3, X's deadline ${deadline}) for ${sendsUnderK3Ms} ms of the 60 s after 12 100; installed at the end [${m.installedEpochs()}], sending ${m.sendingEpoch}`,
    );
    expect(acceptedAfterAnswer, "epoch 3 is X's ratchet-join key").not.toContain(3);
    expect(sendsUnderK3Ms, "ms M sends under K3, which X holds, after X's deadline").toBe(0);
    expect(m.installedEpochs()).not.toContain(3);
  });
});

describe("the same attack against the real leader's schedule", () => {
  it("M sends under the ratchet the leader handed X, after X's deadline", async () => {
    const { ackingLeader } = await import("./sim/acking-leader.js");
    const M = ID(2);
    const A = ID(3);
    const W = ID(4);
    const X = ID(5);
    const {
      leader: l,
      joined,
      handle: lHandle,
    } = ackingLeader("l", { participantId: LEADER, seq: 1 }, [
      { participantId: M, seq: 2 },
      { participantId: A, seq: 3 },
    ]);
    const m = new KeySchedule(config, seededRandom("m"));
    const xHolds = new Map<number, Uint8Array>();
    const held: { type: "key-message" | "broadcast"; payload: unknown }[] = [];
    // What the server does with the leader's frames to M: pass, hold (deliver later) or drop.
    let verdict: (a: { type: string; message?: KeyMessageBody }) => "pass" | "hold" | "drop" = () =>
      "pass";
    const toM = (actions: ReturnType<KeySchedule["handle"]>, now: number) => {
      for (const a of actions) {
        if (a.type === "send" && a.to === X && a.message.type === "key")
          xHolds.set(a.message.epoch, a.message.groupKey);
        const forM = (a.type === "send" && a.to === M) || a.type === "broadcast";
        if (!forM) continue;
        const v = verdict(a as { type: string; message?: KeyMessageBody });
        if (v === "drop") continue;
        const event =
          a.type === "send"
            ? { type: "key-message" as const, from: LEADER, message: a.message }
            : a.type === "broadcast"
              ? { type: "broadcast" as const, from: LEADER, body: a.body }
              : undefined;
        if (!event) continue;
        if (v === "hold") held.push({ type: event.type, payload: event });
        else fromM(m.handle(event, now), now);
      }
    };
    const mInstalled = new Map<number, Uint8Array>();
    /** Whether M's key at `epoch` is K3 (X's ratchet-join key) or a ratchet of it. */
    const xDerives = (epoch: number) => {
      let key = xHolds.get(3);
      const mine = mInstalled.get(epoch);
      if (!key || !mine || epoch < 3) return false;
      for (let e = 3; e < epoch; e++) key = ratchetGroupKey(key);
      return key.every((b, i) => b === mine[i]);
    };
    const fromM = (actions: ReturnType<KeySchedule["handle"]>, now: number) => {
      for (const a of actions) if (a.type === "install") mInstalled.set(a.epoch, a.groupKey);
      for (const a of actions)
        if (a.type === "send" && a.to === LEADER)
          toM(lHandle({ type: "key-message", from: M, message: a.message }, now), now);
    };
    const step = (from: number, until: number, each?: (now: number) => void) => {
      for (let now = from; now <= until; now += 10) {
        const lw = l.nextWakeAt();
        if (lw !== undefined && lw <= now) toM(lHandle({ type: "tick" }, now), now);
        const mw = m.nextWakeAt();
        if (mw !== undefined && mw <= now) fromM(m.handle({ type: "tick" }, now), now);
        each?.(now);
      }
    };
    fromM(
      m.handle(
        {
          type: "joined",
          self: { participantId: M, seq: 2 },
          members: [
            { participantId: LEADER, seq: 1 },
            { participantId: A, seq: 3 },
          ],
          pending: [],
        },
        0,
      ),
      0,
    );
    toM(joined, 0);
    step(0, 500);
    expect(m.sendingEpoch).toBe(1);
    // 1 000: W joins (everyone sees it). The leader's ratchet to 2 is held back from M.
    verdict = (a) => (a.type === "broadcast" ? "hold" : "pass");
    const w = { type: "member-joined" as const, member: { participantId: W, seq: 4 } };
    toM(lHandle(w, 1_000), 1_000);
    fromM(m.handle(w, 1_000), 1_000);
    expect(l.sendingEpoch).toBe(2);
    // 2 000: a leave the server makes up, shown to M only. M is locked out by 4 500 and asks;
    // the leader's answer (epoch 2) is held back too.
    verdict = () => "hold";
    fromM(m.handle({ type: "member-left", participantId: ID(999), seq: 999 }, 2_000), 2_000);
    step(2_000, 6_000);
    expect(
      held.some((h) => h.type === "key-message"),
      "the leader's answer, held",
    ).toBe(true);
    // 6 000: X joins (everyone sees it) and is handed the ratchet to 3.
    const x = { type: "member-joined" as const, member: { participantId: X, seq: 5 } };
    toM(lHandle(x, 6_000), 6_000);
    fromM(m.handle(x, 6_000), 6_000);
    expect(xHolds.has(3)).toBe(true);
    // 8 000: X leaves (everyone hears it). The leader re-keys without X; its key envelopes to M
    // are dropped from now on, its broadcasts held.
    verdict = (a) => (a.type === "send" ? "drop" : "hold");
    const left = { type: "member-left" as const, participantId: X, seq: 5 };
    const deadline = 8_000 + config.lockoutGraceMs;
    toM(lHandle(left, 8_000), 8_000);
    fromM(m.handle(left, 8_000), 8_000);
    step(8_000, 12_000);
    expect(l.sendingEpoch, "the leader moved to a fresh key").toBeGreaterThan(3);
    expect(m.sendingEpoch).toBe(0);
    // 12 000: the server releases some of what it held, in order: the leader's first answer (epoch
    // 2), never its ratchet to 2, then every broadcast after it (the ratchet to 3, the commit of
    // the fresh key, ...). The leader's later answers and all key envelopes stay dropped.
    const release = held.splice(0);
    verdict = (a) => (a.type === "send" ? "drop" : "pass");
    let answered = false;
    for (const h of release) {
      const e = h.payload as Parameters<KeySchedule["handle"]>[0];
      if (e.type === "broadcast" && e.body.epoch === 2) continue;
      if (e.type === "key-message") {
        if (answered || e.message.type !== "key" || e.message.epoch !== 2) continue;
        answered = true;
      }
      fromM(m.handle(e, 12_000), 12_000);
    }
    expect(answered).toBe(true);
    let underXsKeyMs = 0;
    step(12_000, 72_000, (now) => {
      if (now > deadline && xDerives(m.sendingEpoch)) underXsKeyMs += 10;
    });
    console.log(
      `real leader: M sends with epoch ${m.sendingEpoch} (leader on ${l.sendingEpoch}); ms under a key X derives after X's deadline ${deadline}: ${underXsKeyMs}; M accepts [${m.installedEpochs()}]`,
    );
    expect(underXsKeyMs, "ms M sends under a key X can derive after X's deadline").toBe(0);
  });
});

describe("the same hole through a joiner's held ratchet-join (no forged leave needed)", () => {
  it("a joiner never takes on a key a leaver it saw leave was handed", () => {
    // J (seq 4) joins a call of the leader (1), A (2) and B (3) at epoch 1. The leader proves J,
    // ratchets to 2 and hands J K2 (ratchet-join, holders 1-4); the server holds that envelope.
    // X (seq 5) joins: the leader ratchets to 3 and hands X K3. X leaves at 1 000, J hears it.
    // The leader re-keys fresh without X; the server drops that envelope to J. At 5 000 the
    // server delivers J's held ratchet-join and the leader's recorded ratchet to 3.
    const j = new KeySchedule(config, seededRandom("j"));
    j.handle(
      {
        type: "joined",
        self: { participantId: ID(4), seq: 4 },
        members: [
          { participantId: LEADER, seq: 1 },
          { participantId: ID(2), seq: 2 },
          { participantId: ID(3), seq: 3 },
        ],
        pending: [],
      },
      0,
    );
    j.handle({ type: "member-pending", member: { participantId: ID(5), seq: 5 } }, 300);
    j.handle({ type: "member-joined", member: { participantId: ID(5), seq: 5 } }, 400);
    j.handle({ type: "member-left", participantId: ID(5), seq: 5 }, 1_000);
    const deadline = 1_000 + config.lockoutGraceMs;
    runWakes(j, 1_000, 5_000, () => {});
    // The leader's chain holders when it keyed J: J included, X not yet announced.
    j.handle(keyDelivery(2, K2, "ratchet-join", [1, 2, 3, 4]), 5_000);
    const accepted = j.installedEpochs();
    j.handle(leaderBroadcast("ratchet", 3, K3), 5_010);
    let underK3Ms = 0;
    runWakes(j, 5_010, 65_010, (now) => {
      if (now > deadline && j.sendingEpoch === 3) underK3Ms += 10;
    });
    console.log(
      `joiner: accepts [${accepted}] after the held ratchet-join; sends under K3 (X's) for ${underK3Ms} ms after X's deadline ${deadline}`,
    );
    expect(accepted, "K3 is X's key").not.toContain(3);
    expect(underK3Ms).toBe(0);
  });
});
