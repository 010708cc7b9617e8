// The elliptic-curve operations of docs/key-schedule.md's protocol, counted by each CallSession's
// own metrics (curveOps) over the simulator's honest relay: a peer incarnation costs each side one
// X25519, a broadcast costs its leader one Ed25519 signature and every other member one
// verification; announcements are MAC'd and hellos HMAC'd, so neither touches the curves.
import { describe, expect, it } from "vitest";
import type { CurveOps } from "../../web/src/core/curve-ops.js";
import { keyedCall } from "./sim/keyed-call.js";
import type { SimClient, World } from "./sim/world.js";

function opsOf(client: SimClient): CurveOps {
  return { ...client.session.metrics().curveOps };
}

function minus(after: CurveOps, before: CurveOps): CurveOps {
  return {
    x25519SharedSecrets: after.x25519SharedSecrets - before.x25519SharedSecrets,
    ed25519Signs: after.ed25519Signs - before.ed25519Signs,
    ed25519Verifies: after.ed25519Verifies - before.ed25519Verifies,
    keyPairs: after.keyPairs - before.keyPairs,
  };
}

/** A keyed call of n members (seeded per size, so every size is its own run). */
function callOf(n: number, ratchetIntervalMs?: number) {
  return keyedCall(n, 100 + n, ratchetIntervalMs);
}

function leaderOf(world: World): SimClient {
  const leader = world.clients.find(
    (c) => !c.left && c.session.snapshot().roster.find((r) => r.self)?.leader,
  );
  if (!leader) throw new Error("no leader");
  return leader;
}

describe("curve operations per event", () => {
  it.each([3, 5, 8])(
    "a join making a call of %i: the joiner n-1 X25519, every member 1, one ratchet signed and verified",
    (n) => {
      const world = callOf(n - 1);
      const leader = leaderOf(world);
      const members = [...world.clients];
      const before = members.map(opsOf);
      const joiner = world.addClient();
      world.run(5_000);
      world.checkConvergence();
      expect(world.violations).toEqual([]);
      // Two key pairs: the session's constructor makes one to check the display name fits an
      // announcement, and the join request makes the connection's own.
      expect(opsOf(joiner)).toEqual({
        x25519SharedSecrets: n - 1,
        ed25519Signs: 0,
        ed25519Verifies: 1,
        keyPairs: 2,
      });
      members.forEach((member, i) => {
        const was = before[i];
        if (!was) throw new Error("no count");
        expect(minus(opsOf(member), was)).toEqual({
          x25519SharedSecrets: 1,
          ed25519Signs: member === leader ? 1 : 0,
          ed25519Verifies: member === leader ? 0 : 1,
          keyPairs: 0,
        });
      });
    },
  );

  it.each([3, 5, 8])(
    "a leave from a call of %i: no X25519, the commit signed once and verified by each of n-2",
    (n) => {
      const world = callOf(n);
      const leader = leaderOf(world);
      const leaver = world.clients[n - 1];
      if (!leaver || leaver === leader) throw new Error("the leaver must not lead");
      const stayers = world.clients.filter((c) => c !== leaver);
      const before = stayers.map(opsOf);
      world.leave(leaver);
      world.run(5_000);
      world.checkConvergence();
      expect(world.violations).toEqual([]);
      stayers.forEach((member, i) => {
        const was = before[i];
        if (!was) throw new Error("no count");
        expect(minus(opsOf(member), was)).toEqual({
          x25519SharedSecrets: 0,
          ed25519Signs: member === leader ? 1 : 0,
          ed25519Verifies: member === leader ? 0 : 1,
          keyPairs: 0,
        });
      });
    },
  );

  it("a periodic ratchet costs the leader 1 signature and each member 1 verification", () => {
    const n = 5;
    const ratchetIntervalMs = 30_000;
    const world = callOf(n, ratchetIntervalMs);
    const leader = leaderOf(world);
    let rotations = 0;
    leader.session.on("metric", (m) => {
      if (m.type === "rotation") {
        expect(m.fresh).toBe(false);
        rotations += 1;
      }
    });
    const before = world.clients.map(opsOf);
    world.run(ratchetIntervalMs * 3);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
    expect(rotations).toBe(3);
    world.clients.forEach((member, i) => {
      const was = before[i];
      if (!was) throw new Error("no count");
      expect(minus(opsOf(member), was)).toEqual({
        x25519SharedSecrets: 0,
        ed25519Signs: member === leader ? rotations : 0,
        ed25519Verifies: member === leader ? 0 : rotations,
        keyPairs: 0,
      });
    });
  });

  it("a reconnect makes a new incarnation: a fresh key pair and new channels on both sides", () => {
    const n = 4;
    const world = callOf(n);
    const dropped = world.clients[n - 1];
    if (!dropped) throw new Error("no client");
    const others = world.clients.filter((c) => c !== dropped);
    const before = opsOf(dropped);
    const othersBefore = others.map(opsOf);
    world.dropSocket(dropped);
    world.run(10_000);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
    const spent = minus(opsOf(dropped), before);
    expect(spent.keyPairs).toBe(1);
    expect(spent.x25519SharedSecrets).toBe(n - 1);
    others.forEach((member, i) => {
      const was = othersBefore[i];
      if (!was) throw new Error("no count");
      expect(minus(opsOf(member), was).x25519SharedSecrets).toBe(1);
    });
  });
});
