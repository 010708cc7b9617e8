// A leave that lands while a fresh key is in flight is the narrowest window of the lock-out
// (docs/key-schedule.md, Commit barrier and Lock-out): the leaver may already hold the key. Random
// runs rarely hit it, so this sweeps the second leave across the whole window on the simulator and
// checks every commit after it.
import { describe, expect, it } from "vitest";
import { World } from "./sim/world.js";

describe("a leave while a fresh key is in flight", () => {
  it("never commits a key the leaver received (swept over the window)", () => {
    for (let gap = 200; gap <= 300; gap += 20) {
      const world = new World({ seed: gap, checkGlitches: true });
      for (let i = 0; i < 4; i++) {
        world.addClient();
        world.run(1_000);
      }
      world.run(2_000);
      const [, , second, third] = world.clients;
      if (!second || !third) throw new Error("setup");
      world.leave(third); // the leader starts a fresh key after the coalescing window
      world.run(gap);
      world.leave(second); // somewhere in the fresh key's flight
      world.run(5_000);
      world.checkConvergence();
      expect({ gap, violations: world.violations }).toEqual({ gap, violations: [] });
      expect(world.currentMembers()).toHaveLength(2);
    }
  });
});
