// The key leader's browser crashes: its page and profile vanish without a leave message (the
// browser context is closed under it). The Room sees its socket go and tells the others it left;
// the next verified member by join order takes over as leader and issues a fresh key (not a
// ratchet of one the crashed leader held), both remaining members send with it, and media between
// them continues. The crashed leader's ring is gone from every plan.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type RunningBrowser } from "../support/browser";
import { step, view, waitFor } from "../e2e/pages";
import { type Call, closeCall, converge, planWithinCore, startCall, views } from "./call";
import { type ChaosServers, startChaosServers } from "./servers";

let servers: ChaosServers;
let browser: RunningBrowser;

describe("the key leader's browser crashes", () => {
  beforeAll(async () => {
    // The Room's liveness timeout bounds how long a leader that vanished without closing its
    // socket keeps its seat; 20 s is above the client's 15 s ping.
    servers = await startChaosServers({ vars: { HEARTBEAT_TIMEOUT_SECONDS: "20" } });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await servers?.stop();
  });

  it("a new leader issues a fresh key, media continues, the crashed leader is locked out", async () => {
    const call: Call = await startCall(browser, servers.origin, ["Alice", "Bob", "Carol"]);
    const [alice, bob, carol] = call.people as [
      (typeof call.people)[0],
      (typeof call.people)[0],
      (typeof call.people)[0],
    ];
    const rest: Call = { link: call.link, people: [bob, carol], id: call.id };
    try {
      const aliceId = call.id(alice);
      const before = await views(call);
      // Alice joined first: she leads, and only the leader rotates.
      expect(before[0]?.rotations.length ?? 0).toBeGreaterThan(0);
      expect(before[1]?.rotations ?? []).toEqual([]);
      const epochBefore = before[0]?.sendingEpoch ?? 0;
      step(`crashing Alice's browser (leader, epoch ${epochBefore})`);
      const crashedAt = Date.now();
      await alice.context.close();

      for (const participant of rest.people) {
        await waitFor(
          `${participant.name} to see Alice leave`,
          async () => !(await view(participant)).rosterIds.includes(aliceId),
          60_000,
        );
      }
      step(`Bob and Carol saw Alice leave after ${Date.now() - crashedAt} ms`);
      let fresh = 0;
      await waitFor(
        async () =>
          `Bob to take over with a fresh key: ${JSON.stringify((await view(bob)).rotations)}`,
        async () => {
          const rotation = (await view(bob)).rotations.find(
            (r) =>
              r.fresh && r.epoch > epochBefore && (r.reason === "takeover" || r.reason === "leave"),
          );
          fresh = rotation?.epoch ?? 0;
          return fresh > 0;
        },
        60_000,
      );
      step(`Bob issued fresh key ${fresh}`);
      const { views: after, decodingAfterMs } = await converge(
        rest,
        "Bob and Carol to decode each other on the new leader's key",
        90_000,
      );
      step(`Bob and Carol decode each other ${decodingAfterMs} ms after seeing the leave`);
      for (const [i, v] of after.entries()) {
        const name = rest.people[i]?.name;
        expect(
          v.sendingEpoch ?? 0,
          `${name} sends with the fresh key or later`,
        ).toBeGreaterThanOrEqual(fresh);
        // No key of Alice's is held for her any more, and no tile is left for her.
        expect(v.mediaPlan.receive[aliceId], `${name}'s plan for Alice`).toBeUndefined();
        expect(v.tileStates[aliceId], `${name}'s tile for Alice`).toBeUndefined();
        expect(planWithinCore(v)).toBe(true);
        expect(v.rosterIds).toHaveLength(2);
      }
      // Carol is not the leader and never rotated; Bob leads.
      expect(after[1]?.rotations ?? []).toEqual([]);
    } finally {
      await closeCall(rest);
    }
  });
});
