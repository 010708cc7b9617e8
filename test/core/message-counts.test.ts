// The message counts of docs/key-schedule.md (Rotations), measured on real CallSessions over the
// simulator's honest relay: a join costs the leader 1 key envelope, a leave n-2, a periodic ratchet
// 0 (and every freshEvery-th rotation n-1). Acknowledgements travel member → leader and are counted
// separately.
import { describe, expect, it } from "vitest";
import type { SimClient } from "./sim/world.js";
import { keyedCall } from "./sim/keyed-call.js";
import type { World } from "./sim/world.js";

const KEY_KINDS = ["key-fresh", "key-ratchet-join", "key-current"] as const;

function keyEnvelopes(client: SimClient): number {
  const sent = client.session.metrics().envelopesSent;
  return KEY_KINDS.reduce((sum, kind) => sum + sent[kind], 0);
}

function totals(world: World) {
  let keys = 0;
  let acks = 0;
  let requests = 0;
  let broadcasts = 0;
  for (const client of world.clients) {
    const metrics = client.session.metrics();
    keys += keyEnvelopes(client);
    acks += metrics.envelopesSent.ack;
    requests += metrics.envelopesSent["key-request"];
    broadcasts += metrics.broadcastsSent.ratchet + metrics.broadcastsSent.commit;
  }
  return { keys, acks, requests, broadcasts };
}

function delta(after: ReturnType<typeof totals>, before: ReturnType<typeof totals>) {
  return {
    keys: after.keys - before.keys,
    acks: after.acks - before.acks,
    requests: after.requests - before.requests,
    broadcasts: after.broadcasts - before.broadcasts,
  };
}

/** A keyed call of n members (seeded per size, so every size is its own run). */
function callOf(n: number, ratchetIntervalMs?: number) {
  return keyedCall(n, n, ratchetIntervalMs);
}

describe("exact message counts", () => {
  it.each([3, 5, 8])("a join into a call of %i costs 1 key envelope and 1 broadcast", (n) => {
    const world = callOf(n);
    const before = totals(world);
    world.addClient();
    world.run(5_000);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
    expect(delta(totals(world), before)).toEqual({ keys: 1, acks: 0, requests: 0, broadcasts: 1 });
  });

  it.each([3, 5, 8])(
    "a leave from a call of %i costs n-2 key envelopes (+ n-2 acks, 1 commit)",
    (n) => {
      const world = callOf(n);
      const before = totals(world);
      const leaver = world.clients[n - 1];
      if (!leaver) throw new Error("no leaver");
      world.leave(leaver);
      world.run(5_000);
      world.checkConvergence();
      expect(world.violations).toEqual([]);
      expect(delta(totals(world), before)).toEqual({
        keys: n - 2,
        acks: n - 2,
        requests: 0,
        broadcasts: 1,
      });
    },
  );

  it.each([3, 5, 8])("the leader leaving a call of %i costs n-2 key envelopes too", (n) => {
    const world = callOf(n);
    const before = totals(world);
    const leader = world.clients[0];
    if (!leader) throw new Error("no leader");
    expect(leader.session.snapshot().roster.find((r) => r.self)?.leader).toBe(true);
    world.leave(leader);
    world.run(5_000);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
    expect(delta(totals(world), before)).toEqual({
      keys: n - 2,
      acks: n - 2,
      requests: 0,
      broadcasts: 1,
    });
  });

  it("periodic ratchets cost 0 envelopes; every 10th rotation is fresh (n-1)", () => {
    const n = 4;
    const world = callOf(n, 30_000);
    // Line up with the leader's schedule: count from just after a rotation.
    const rotations: { epoch: number; fresh: boolean; recipients: number }[] = [];
    world.clients[0]?.session.on("metric", (m) => {
      if (m.type === "rotation") rotations.push(m);
    });
    const before = totals(world);
    world.run(30_000 * 10 + 1_000);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
    const periodic = rotations.filter((r) => !r.fresh);
    const fresh = rotations.filter((r) => r.fresh);
    expect(rotations).toHaveLength(10);
    expect(fresh).toHaveLength(1);
    expect(fresh[0]?.recipients).toBe(n - 1);
    const counted = delta(totals(world), before);
    // 9 ratchets: 0 envelopes, 1 broadcast each; 1 fresh: n-1 envelopes, n-1 acks, 1 commit.
    expect(counted).toEqual({ keys: n - 1, acks: n - 1, requests: 0, broadcasts: 10 });
    expect(periodic.every((r) => r.recipients === 0)).toBe(true);
  });

  it("a burst of joins within the coalescing window costs at most two rotations", () => {
    const world = callOf(3);
    const before = totals(world);
    world.addClient();
    world.run(50);
    world.addClient();
    world.run(50);
    world.addClient();
    world.run(5_000);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
    // Leading edge: the first join ratchets at once, the other two share one rotation after it.
    expect(delta(totals(world), before)).toEqual({ keys: 3, acks: 0, requests: 0, broadcasts: 2 });
  });

  it("a burst of leaves within the coalescing window costs at most two rotations", () => {
    const n = 6;
    const world = callOf(n);
    const rotations: { epoch: number; fresh: boolean }[] = [];
    world.clients[0]?.session.on("metric", (m) => {
      if (m.type === "rotation") rotations.push(m);
    });
    for (const index of [5, 4, 3]) {
      const leaver = world.clients[index];
      if (!leaver) throw new Error("no leaver");
      world.leave(leaver);
      world.run(30);
    }
    world.run(5_000);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
    expect(rotations.length).toBeGreaterThanOrEqual(1);
    expect(rotations.length).toBeLessThanOrEqual(2);
    expect(rotations.every((r) => r.fresh)).toBe(true);
  });
});
