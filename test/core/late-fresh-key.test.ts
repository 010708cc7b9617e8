// A member whose fresh key arrives only after its commit (its envelope was late, or the server held
// it back): until then it must hold no key for the fresh epoch, not the look-ahead ratchet of the
// old chain that the fresh key replaced. Everyone else sends under the fresh key from the commit;
// a wrong key in that slot makes every frame fail to decrypt (livekit's errors) where a missing one
// is refused as "not held" and waits, and the old chain's ratchets are keys the leaver can derive.
import { describe, expect, it } from "vitest";
import { keyedCall } from "./sim/keyed-call.js";

const STEP_MS = 10;

describe("a fresh key that arrives after its commit", () => {
  it("leaves the fresh epochs empty meanwhile, never the old chain's ratchets", () => {
    const world = keyedCall(4, 7);
    const [leader, other, slow, leaver] = world.clients;
    if (!leader || !other || !slow || !leaver) throw new Error("setup");
    const slowConnection = slow.current?.connection;
    const oldEpoch = leader.sending;
    const oldAhead = slow.installed.get(oldEpoch + 1);
    expect(oldAhead, "the old chain's look-ahead, before").toBeDefined();
    world.relay.rules.push((to, frame) =>
      to === slowConnection && frame.type === "message" ? "hold" : undefined,
    );
    world.leave(leaver);

    let wrongMs = 0;
    let emptyMs = 0;
    for (let t = 0; t < 3_000; t += STEP_MS) {
      world.run(STEP_MS);
      const epoch = leader.sending;
      if (epoch === oldEpoch) continue;
      const held = slow.installed.get(epoch);
      if (held === undefined) emptyMs += STEP_MS;
      else if (held !== leader.installed.get(epoch)) wrongMs += STEP_MS;
    }
    const fresh = leader.sending;
    expect(fresh, "the leader committed a fresh key without the slow member's ack").toBe(
      oldEpoch + 1,
    );
    // Only while the commit itself is on its way (the simulator's links take up to 40 ms).
    expect(wrongMs).toBeLessThanOrEqual(50);
    expect(emptyMs).toBeGreaterThan(1_000);
    // The old chain's ratchets for the fresh epochs are gone and stay gone.
    expect(slow.installed.has(fresh)).toBe(false);
    expect(slow.installed.has(fresh + 1)).toBe(false);

    world.relay.heal();
    world.run(5_000);
    expect(slow.sending).toBe(leader.sending);
    expect(slow.installed.get(fresh)).toBe(leader.installed.get(fresh));
    expect(slow.installed.get(fresh)).not.toBe(oldAhead);
    expect(world.violations).toEqual([]);
  });
});
