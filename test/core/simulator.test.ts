// Property tests over random runs of the deterministic simulator: joins, leaves, leader departures,
// dropped sockets, ghosts and forged frames, on an honest relay and on a hostile one. The checks
// (DESIGN §4) run inside the World while the run goes on; see sim/world.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HONEST } from "./sim/relay.js";
import { HOSTILE, scenario, simulate } from "./sim/scenario.js";

describe("simulator: honest, in-order relay", () => {
  it("converges; forward secrecy at join; lock-out at leave; glitch-free; ghosts and forgeries get nothing", () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const world = simulate(input, HONEST, true);
        expect(world.violations).toEqual([]);
      }),
      { numRuns: 20 },
    );
  });
});

describe("simulator: hostile relay (drop, duplicate, reorder, replay, inject)", () => {
  it("still converges once quiet, and never breaks forward secrecy or lock-out", () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const world = simulate(input, HOSTILE, false);
        expect(world.violations).toEqual([]);
      }),
      { numRuns: 20 },
    );
  });
});
