// Red team (round 44, helper-42): the simulator (real sessions) on the slow honest relay of
// guess-ask-race-redteam.test.ts (150-400 ms a frame, in order, nothing lost), six members and a
// seventh joining, then three members leaving one after another. Found by a targeted search (80
// seeds, 3 glitches on the code before):
//  - seed 1019, during the joins: the leader ratchets to 4, 5 and 6 at 1846, 2046 and 2246 (one
//    join each, coalesceMs apart); client 1 reads the ratchet to 4 only at 2249 (400 ms down + 3
//    up), so at 2246 it holds 3 with its look-ahead 4 and 5 ("glitch at t=2246: client 0 sends
//    epoch 6, client 1 lacks it"). Two look-ahead ratchets cover 2 x coalesceMs = 400 ms, less
//    than the relay's one-way delay (see ratchet-burst-lookahead-redteam.test.ts).
//  - seed 1029, the leaves: each leave the leader hears while a fresh key is in flight cancels it,
//    and a member nearer the room withholds the old chain before one further away stops sending
//    with it ("glitch at t=10457: client 5 sends epoch 7, client 6 lacks it"; see
//    cascade-leave-grace-redteam.test.ts).
import { describe, expect, it } from "vitest";
import { type Faults, HONEST } from "./sim/relay.js";
import { simulate } from "./sim/scenario.js";

const slow: Faults = { ...HONEST, minDelayMs: 150, maxDelayMs: 400 };

describe("simulator: a slow honest relay, joins then leaves in a row", () => {
  it.each([
    [1019, 853, 657],
    [1029, 723, 687],
  ])("seed %i: no glitch", (seed, w1, w2) => {
    const input = {
      seed,
      initial: 6,
      ops: [
        { kind: "join", wait: 6_000 },
        { kind: "leave", who: 1, wait: w1 },
        { kind: "leave", who: 1, wait: w2 },
        { kind: "leave", who: 1, wait: 6_000 },
      ],
    } as unknown as Parameters<typeof simulate>[0];
    const world = simulate(input, slow, true);
    expect(world.violations).toEqual([]);
  });
});
