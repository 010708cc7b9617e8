// Random scenarios for the simulator: fast-check arbitraries for runs of joins, leaves, leader
// departures, dropped sockets, ghosts and forgeries, and the driver that plays one in a World.
import fc from "fast-check";
import type { Faults } from "./relay.js";
import { type SimClient, World, type WorldOptions } from "./world.js";

const MAX_CLIENTS = 7;

const wait = fc.oneof(
  fc.integer({ min: 0, max: 150 }), // inside the coalescing window
  fc.integer({ min: 150, max: 400 }), // while a fresh key is in flight
  fc.integer({ min: 200, max: 3_000 }),
  fc.integer({ min: 4_000, max: 12_000 }), // long enough for periodic rotations
);

const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("join" as const), wait }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("leave" as const), who: fc.nat(), wait }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("leave-leader" as const), wait }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("drop" as const), who: fc.nat(), wait }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("ghost" as const), variant: fc.nat(), wait }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("forge" as const), variant: fc.nat(), wait }),
  },
);
export type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

export const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  initial: fc.integer({ min: 1, max: 4 }),
  ops: fc.array(op, { minLength: 1, maxLength: 12 }),
});

function activeClients(world: World): SimClient[] {
  return world.clients.filter((c) => !c.left);
}

function apply(world: World, step: Op): void {
  const active = activeClients(world);
  switch (step.kind) {
    case "join":
      if (active.length < MAX_CLIENTS && world.clients.length < MAX_CLIENTS + 4) world.addClient();
      break;
    case "leave": {
      const who = active[step.who % Math.max(1, active.length)];
      if (who) world.leave(who);
      break;
    }
    case "leave-leader": {
      const leader = active.find((c) => c.session.snapshot().roster.find((r) => r.self)?.leader);
      if (leader) world.leave(leader);
      break;
    }
    case "drop": {
      const who = active[step.who % Math.max(1, active.length)];
      if (who) world.dropSocket(who);
      break;
    }
    case "ghost":
      world.addGhost(step.variant);
      break;
    case "forge":
      world.injectForgery(step.variant);
      break;
  }
}

export function simulate(
  input: { seed: number; initial: number; ops: Op[] },
  faults: Faults,
  checkGlitches: boolean,
  options: Pick<WorldOptions, "deferredSignatures" | "deferredSharedSecrets"> = {},
): World {
  const world = new World({ seed: input.seed, checkGlitches, ...options });
  world.setFaults(faults);
  for (let i = 0; i < input.initial; i++) {
    world.addClient();
    world.run(300);
  }
  for (const step of input.ops) {
    apply(world, step);
    world.run(step.wait);
  }
  // Quiet network: every member must converge (rejoins, key requests and rotations included).
  world.setGlitchChecking(false);
  world.quiet(25_000);
  world.checkConvergence();
  return world;
}

export const HOSTILE: Faults = {
  dropRate: 0.1,
  duplicateRate: 0.1,
  reorder: true,
  minDelayMs: 1,
  maxDelayMs: 400,
  replayRate: 0.05,
};
