// Red team (round 41): overtakenAt/overtakenBelow (key-schedule.ts) remember the highest epoch a
// verified leader broadcast named, and after one grace withhold every epoch below it and send
// nothing until this member switches to an epoch at or above it. At first nothing forgot that
// epoch when the leader that named it left: the next leader makes its takeover key at ITS highest
// known epoch + 1, which can be far below, and the member stayed mute and deaf under it (every
// epoch of the new leader below the remembered one) until the new leader's ratchets climbed past
// it, one or two epochs per periodic rotation; its key requests, naming its own high epoch, were
// refused as beyond the new leader's look-ahead. Now an overtaken epoch counts only while the
// leader that named it leads (every chain that leader made has it as a holder, so its leave locks
// those out anyway).
//
// Here a member X that leads for a while (the call's first joiner, or made leader by the server
// dropping every older member's socket) signs commits for epochs it never keys, and the server
// delivers them to C only. Then X leaves. The attacker does nothing more: B leads, the relay is
// honest. Before the fix C neither sent nor decrypted anything B keyed for the whole 10 minutes
// checked (and, by the epoch gap, for days); the server alone could do the same with an honest
// leader (the second test).
import { describe, expect, it } from "vitest";
import { keyCheckOf } from "../../web/src/core/identifiers.js";
import { KeySchedule } from "../../web/src/core/key-schedule.js";
import type { KeyMessageBody } from "../../web/src/core/key-messages.js";
import {
  DEFAULT_SCHEDULE_CONFIG,
  type ScheduleAction,
  type ScheduleEvent,
} from "../../web/src/core/schedule-types.js";
import { seededRandom } from "./sim/seeded-random.js";

const ID = (n: number) => `participant${String(n).padStart(11, "0")}`;
const config = DEFAULT_SCHEDULE_CONFIG;
const X = ID(1);
const B = ID(2);
const C = ID(3);
const K1 = new Uint8Array(32).fill(7);

function scenario(commits: number) {
  const b = new KeySchedule(config, seededRandom("b"));
  const c = new KeySchedule(config, seededRandom("c"));
  const nodes = new Map([
    [B, b],
    [C, c],
  ]);
  // An honest, in-order relay between B and C (X's words are written by hand below).
  const queue: { to: string; event: ScheduleEvent }[] = [];
  const route = (from: string, actions: ScheduleAction[]) => {
    for (const a of actions) {
      if (a.type === "send" && nodes.has(a.to))
        queue.push({ to: a.to, event: { type: "key-message", from, message: a.message } });
      if (a.type === "broadcast")
        for (const to of nodes.keys())
          if (to !== from) queue.push({ to, event: { type: "broadcast", from, body: a.body } });
    }
  };
  const deliver = (to: string, event: ScheduleEvent, now: number) => {
    const node = nodes.get(to);
    if (node) route(to, node.handle(event, now));
  };
  const flush = (now: number) => {
    for (let i = 0; i < 10_000 && queue.length > 0; i++) {
      const next = queue.shift();
      if (next) deliver(next.to, next.event, now);
    }
  };
  const step = (from: number, until: number, each?: (now: number) => void) => {
    for (let now = from; now <= until; now += 50) {
      for (const [id, node] of nodes) {
        const wake = node.nextWakeAt();
        if (wake !== undefined && wake <= now) route(id, node.handle({ type: "tick" }, now));
      }
      flush(now);
      each?.(now);
    }
  };
  const members = [
    { participantId: X, seq: 1 },
    { participantId: B, seq: 2 },
    { participantId: C, seq: 3 },
  ];
  for (const [id, node] of nodes) {
    const self = members.find((m) => m.participantId === id);
    if (!self) throw new Error("no self");
    node.handle(
      { type: "joined", self, members: members.filter((m) => m !== self), pending: [] },
      0,
    );
  }
  // X, leading, keys both at epoch 1 and commits.
  const fresh = {
    type: "key",
    epoch: 1,
    groupKey: K1,
    kind: "fresh",
    chainStart: 1,
    leaderSeq: 1,
    holders: [1, 2, 3],
  } as KeyMessageBody;
  for (const id of [B, C]) deliver(id, { type: "key-message", from: X, message: fresh }, 100);
  const commitOf = (epoch: number, keyCheck: Uint8Array) => ({
    type: "broadcast" as const,
    from: X,
    body: { kind: "commit" as const, epoch, chainStart: epoch, leaderSeq: 1, keyCheck },
  });
  for (const id of [B, C]) deliver(id, commitOf(1, keyCheckOf(K1)), 200);
  flush(200);
  step(200, 1_000);
  expect([b.sendingEpoch, c.sendingEpoch], "setup: both on X's epoch 1").toEqual([1, 1]);
  // 1 000 to 1 000 + commits: X signs commits for epochs it keys nobody with, 16 apart; the
  // server shows them to C only.
  let epoch = 1;
  for (let i = 0; i < commits; i++) {
    epoch += config.maxRatchetLookahead;
    deliver(C, commitOf(epoch, new Uint8Array(16).fill(i & 0xff)), 1_000 + i);
  }
  const pinnedAt = epoch;
  // 2 000: X leaves; everyone hears it. From here on nobody attacks.
  const left = { type: "member-left" as const, participantId: X, seq: 1 };
  for (const id of [B, C]) deliver(id, left, 2_000);
  flush(2_000);
  const START = 2_000;
  const END = START + 10 * 60_000;
  let cSilentMs = 0;
  let cCannotDecryptBMs = 0;
  step(START, END, (now) => {
    if (now < START + 10_000) return; // the takeover and its commit
    if (c.sendingEpoch === 0) cSilentMs += 50;
    if (!c.installedEpochs().includes(b.sendingEpoch)) cCannotDecryptBMs += 50;
  });
  return {
    pinnedAt,
    b: b.sendingEpoch,
    c: c.sendingEpoch,
    cInstalled: c.installedEpochs(),
    cSilentMs,
    cCannotDecryptBMs,
    checkedMs: END - START - 10_000,
  };
}

describe("an overtaken epoch dies with the leader that named it", () => {
  it.each([
    ["one commit above (16 epochs)", 1],
    ["X pumps 100 commits to C only (1 600 epochs)", 100],
  ])("%s: C sends and decrypts again once B, the new leader, has re-keyed", (_, commits) => {
    const r = scenario(commits);
    console.log(
      `${commits} commit(s): C's overtaken epoch ${r.pinnedAt}; after X left: B sends with ${r.b}, C with ${r.c}, C accepts [${r.cInstalled}]; C silent ${r.cSilentMs} ms and unable to decrypt B ${r.cCannotDecryptBMs} ms of ${r.checkedMs} ms checked (attacker gone, relay honest)`,
    );
    expect(r.b, "B re-keyed after the takeover").toBeGreaterThan(1);
    expect(r.cSilentMs, "ms C sends nothing after B's takeover").toBe(0);
    expect(r.cCannotDecryptBMs, "ms C cannot decrypt B's epoch").toBe(0);
  });
});

// The same pin with no member signing anything: an honest leader L, and a server that (while it
// attacks) keeps L's key envelopes from C and every frame of L's from B. Throwaway joiners (anyone
// with the link) make L ratchet and re-key every couple of hundred ms; C sees each signed
// broadcast, can follow none, and its overtaken epoch climbs with L's. Then the server drops L's
// socket (L is gone: member-left to all) and turns honest. B takes over from its own, far lower,
// epoch: C is pinned exactly as above.
describe("rule 2 pin by the server alone (honest leader, throwaway joiners)", () => {
  it("C sends and decrypts again once B has taken over and re-keyed", async () => {
    const { ackingLeader } = await import("./sim/acking-leader.js");
    const L = ID(1);
    const members = [
      { participantId: L, seq: 1 },
      { participantId: B, seq: 2 },
      { participantId: C, seq: 3 },
    ];
    const [lSelf, ...others] = members;
    if (!lSelf) throw new Error("no leader");
    const { handle: lHandle, joined, leader: l } = ackingLeader("l", lSelf, others);
    const b = new KeySchedule(config, seededRandom("b2"));
    const c = new KeySchedule(config, seededRandom("c2"));
    const nodes = new Map([
      [B, b],
      [C, c],
    ]);
    let attacking = false;
    const queue: { to: string; event: ScheduleEvent }[] = [];
    const route = (from: string, actions: ScheduleAction[]) => {
      for (const a of actions) {
        if (a.type === "send" && nodes.has(a.to)) {
          if (attacking && from === L) continue; // L's envelopes to B and C dropped
          queue.push({ to: a.to, event: { type: "key-message", from, message: a.message } });
        }
        if (a.type === "broadcast")
          for (const to of nodes.keys()) {
            if (to === from || (attacking && from === L && to === B)) continue;
            queue.push({ to, event: { type: "broadcast", from, body: a.body } });
          }
      }
    };
    const flush = (now: number) => {
      for (let i = 0; i < 100_000 && queue.length > 0; i++) {
        const next = queue.shift();
        const node = next && nodes.get(next.to);
        if (next && node) route(next.to, node.handle(next.event, now));
      }
    };
    let lGone = false;
    const step = (from: number, until: number, each?: (now: number) => void) => {
      for (let now = from; now <= until; now += 50) {
        for (const [id, node] of nodes) {
          const wake = node.nextWakeAt();
          if (wake !== undefined && wake <= now) route(id, node.handle({ type: "tick" }, now));
        }
        if (!lGone) route(L, lHandle({ type: "tick" }, now));
        flush(now);
        each?.(now);
      }
    };
    for (const [id, node] of nodes) {
      const self = members.find((m) => m.participantId === id);
      if (!self) throw new Error(`no member ${id}`);
      node.handle(
        { type: "joined", self, members: members.filter((m) => m !== self), pending: [] },
        0,
      );
    }
    route(L, joined);
    flush(0);
    step(0, 1_000);
    expect([b.sendingEpoch, c.sendingEpoch], "setup: B and C on L's key").not.toContain(0);
    // 1 000 to 31 000: throwaway joiners come and go (every member sees them), L rotates for each.
    attacking = true;
    let t = 1_000;
    for (let seq = 10; seq < 160; seq++) {
      const who = { participantId: ID(seq), seq };
      const joinedEv = { type: "member-joined" as const, member: who };
      route(L, lHandle(joinedEv, t));
      for (const [id, node] of nodes) route(id, node.handle(joinedEv, t));
      flush(t);
      step(t, t + 100);
      const leftEv = { type: "member-left" as const, participantId: who.participantId, seq };
      route(L, lHandle(leftEv, t + 100));
      for (const [id, node] of nodes) route(id, node.handle(leftEv, t + 100));
      flush(t + 100);
      step(t + 100, t + 200);
      t += 200;
    }
    // The server drops L's socket; everyone hears L leave. Honest from here on.
    const lEpoch = l.sendingEpoch;
    attacking = false;
    lGone = true;
    const left = { type: "member-left" as const, participantId: L, seq: 1 };
    for (const [id, node] of nodes) route(id, node.handle(left, t));
    flush(t);
    const START = t;
    const END = START + 10 * 60_000;
    let cSilentMs = 0;
    let cCannotDecryptBMs = 0;
    step(START, END, (now) => {
      if (now < START + 10_000) return;
      if (c.sendingEpoch === 0) cSilentMs += 50;
      if (!c.installedEpochs().includes(b.sendingEpoch)) cCannotDecryptBMs += 50;
    });
    console.log(
      `server only: L reached epoch ${lEpoch}; after L left, B sends with ${b.sendingEpoch}, C with ${c.sendingEpoch}, C accepts [${c.installedEpochs()}]; C silent ${cSilentMs} ms, unable to decrypt B ${cCannotDecryptBMs} ms of ${END - START - 10_000} ms checked`,
    );
    expect(b.sendingEpoch).toBeGreaterThan(0);
    expect(cSilentMs, "ms C sends nothing after B's takeover").toBe(0);
    expect(cCannotDecryptBMs, "ms C cannot decrypt B's epoch").toBe(0);
  });
});
