// Red team (round 41) found that counting seqs announced to a joiner as possible holders of the
// chains it is handed later (key-schedule.ts, switchToDelivered) cost an honest joiner the next
// ratchet when the call's leader dropped while the joiner's first key was on the way: the old
// leader, in the joiner's welcome and still proving itself to it, counted as a holder of the new
// leader's chain, so once its deadline passed the joiner withheld the epoch everyone ratcheted to
// (the simulator's glitch check: "client 0 sends epoch 5, client 2 lacks it"). Seqs in the welcome
// are not counted: an honest leader hands them its chain before the joiner's key or re-keys when
// one leaves. These are the simulator's shrunk counterexamples, on an honest relay.
import { describe, expect, it } from "vitest";
import { HONEST } from "./sim/relay.js";
import { simulate } from "./sim/scenario.js";

type Input = Parameters<typeof simulate>[0];

const COUNTEREXAMPLES = [
  {
    seed: 1,
    initial: 2,
    ops: [
      { kind: "join", wait: 7 },
      { kind: "drop", who: 0, wait: 150 },
      { kind: "join", wait: 4000 },
      { kind: "forge", variant: 0, wait: 200 },
    ],
  },
  {
    seed: 259370446,
    initial: 1,
    ops: [
      { kind: "join", wait: 200 },
      { kind: "join", wait: 2 },
      { kind: "drop", who: 0, wait: 150 },
      { kind: "forge", variant: 0, wait: 4000 },
      { kind: "drop", who: 0, wait: 200 },
    ],
  },
];

describe("a leader that drops while a joiner's first key is on the way", () => {
  it.each(COUNTEREXAMPLES.map((input, i) => [i, input] as const))(
    "counterexample %i: no glitch, the joiner follows the new leader's ratchets",
    (_, input) => {
      const world = simulate(input as unknown as Input, HONEST, true);
      expect(world.violations).toEqual([]);
    },
  );
  it.each(COUNTEREXAMPLES.map((input, i) => [i, input] as const))(
    "counterexample %i: the same with signatures checked later, as the platform checks them",
    (_, input) => {
      const world = simulate(input as unknown as Input, HONEST, true, { deferredSignatures: true });
      expect(world.violations).toEqual([]);
    },
  );
});
