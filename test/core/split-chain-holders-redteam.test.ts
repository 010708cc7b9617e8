// Red team (round 42, helper-38): a `current` answer on the chain we already hold (switchToDelivered, same
// chainStart and leader) gives the current epoch and the chain onward a NEW holder Set, while the
// chain's past epochs (the three "recent" ones stay however long ago) keep the old Set. Everything
// that later grows "the chain's holders" grows only the new Set: countAsPossibleHolder (a leave of
// a seq we never saw join) and holdersOf's inference (a named holder not in the room). So a leaver
// whose join the server hid from us is withheld on the current epoch and above, but the chain's
// past epochs, which it can derive too, stay accepted after its deadline, for as long as the server
// keeps the fresh key from us (docs/key-schedule.md, Lock-out: "past epochs still in their grace
// ... and indefinitely by a member the server keeps from the fresh key").
import { describe, expect, it } from "vitest";
import { ratchetGroupKey } from "../../web/src/core/identifiers.js";
import { DEFAULT_SCHEDULE_CONFIG } from "../../web/src/core/schedule-types.js";
import {
  memberId as ID,
  K1,
  keyDelivery,
  keyedMember,
  leaderBroadcast,
  runWakes,
} from "./sim/leader-frames.js";

const config = DEFAULT_SCHEDULE_CONFIG;
const K2 = ratchetGroupKey(K1); // handed to X (seq 4) as its ratchet-join
const K3 = ratchetGroupKey(K2);

describe("a chain split into two holder sets by a same-chain `current` answer", () => {
  it.each([
    ["X's leave shown to M", true],
    ["X's leave hidden from M (the leader's list names X, absent)", false],
  ])("%s: M withholds every epoch X can derive after X's deadline", (_, leaveShown) => {
    // M (seq 2) is keyed at epoch 1 with the leader (1) and seq 3. The server hides X's (seq 4)
    // join from M; the leader ratchets to 2 for it and hands X K2 (M sees the ratchet).
    const m = keyedMember("split-chain");
    m.handle(leaderBroadcast("ratchet", 2, K2), 1_000);
    expect(m.sendingEpoch).toBe(2);
    // The leader's periodic ratchet to 3 is dropped to M; M reports decrypt failures and the
    // leader answers with its current key, naming X among the holders (it keyed X).
    m.handle({ type: "decrypt-failures" }, 2_500);
    m.handle(keyDelivery(3, K3, "current", [1, 2, 3, 4]), 2_600);
    // X leaves. The leader re-keys without X; the server drops that fresh key and its commit to
    // M (and every later word of the leader's to M: M stays silent, a denial of service only).
    const deadline = 2_600 + config.lockoutGraceMs; // X named but absent: departed on receipt
    if (leaveShown) {
      m.handle({ type: "member-left", participantId: ID(4), seq: 4 }, 3_000);
    }
    let acceptsK2Ms = 0;
    let sendsUnderXMs = 0;
    runWakes(m, 3_000, 63_000, (now) => {
      if (now <= deadline) return;
      if (m.installedEpochs().includes(2)) acceptsK2Ms += 10;
      if (m.sendingEpoch >= 2) sendsUnderXMs += 10;
    });
    expect(sendsUnderXMs, "ms M sends under a key X holds").toBe(0);
    expect(acceptsK2Ms, "ms M accepts K2, which X derives, after X's deadline").toBe(0);
  });
});
