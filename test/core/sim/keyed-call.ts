// A call the count tests start from: n members joined one by one over the simulator's honest
// relay, all keyed and converged, long before the next periodic rotation.
import { expect } from "vitest";
import { World } from "./world.js";

export function keyedCall(n: number, seed: number, ratchetIntervalMs = 600_000): World {
  const world = new World({ seed, schedule: { ratchetIntervalMs, freshEvery: 10 } });
  for (let i = 0; i < n; i++) {
    world.addClient();
    world.run(1_000);
  }
  world.run(5_000);
  world.checkConvergence();
  expect(world.violations).toEqual([]);
  return world;
}
