// Random adversarial scenarios for issue 9: the relay lies about membership (withheld keys and
// commits, leaves hidden from the leader or from a member, split views, stalled joins, replayed
// announcements from this and earlier room lives) and one member may run modified code (huge
// epochs, forged acks, absurd key requests, rival leader claims). The World's adversarial checks
// watch what every honest member does while the run goes on; at the end the relay turns honest and
// the honest members must converge.
import fc from "fast-check";
import { keyCheckOf } from "../../../web/src/core/identifiers.js";
import { keyDelivery } from "./malicious.js";
import type { Faults } from "./relay.js";
import { type SimClient, World } from "./world.js";

const MAX_CLIENTS = 6;
const U32_MAX = 0xffff_ffff;
const HUGE_EPOCHS = [U32_MAX, U32_MAX - 1, 2 ** 31, 2 ** 31 - 1, 1_000];

const wait = fc.oneof(
  fc.integer({ min: 0, max: 150 }),
  fc.integer({ min: 150, max: 600 }),
  fc.integer({ min: 600, max: 4_000 }),
  fc.integer({ min: 4_000, max: 9_000 }),
);
const who = fc.nat();
const window = fc.integer({ min: 500, max: 8_000 });

const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("join" as const), wait }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("leave" as const), who, wait }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("leave-leader" as const), wait }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), who, wait }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("withhold" as const), who, ms: window, wait }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("hide-leave" as const),
      who,
      fromLeader: fc.boolean(),
      wait,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("split" as const), who, wait }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("stall-join" as const), ms: window, wait }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("replay" as const),
      pick: fc.nat(),
      lowSeq: fc.boolean(),
      wait,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("restart-room" as const), wait }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("attack" as const),
      variant: fc.nat(),
      epoch: fc.constantFrom(...HUGE_EPOCHS),
      wait,
    }),
  },
);
export type AdversaryOp = typeof op extends fc.Arbitrary<infer T> ? T : never;

export const adversarialScenario = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  initial: fc.integer({ min: 2, max: 4 }),
  malicious: fc.boolean(),
  ops: fc.array(op, { minLength: 1, maxLength: 10 }),
});

function active(world: World): SimClient[] {
  return world.clients.filter((c) => !c.left && !c.malicious);
}

function leaderOf(world: World): SimClient | undefined {
  return active(world).find((c) => c.session.snapshot().roster.find((r) => r.self)?.leader);
}

/** One malicious move, by the attacker's side channel, if it is in the call. */
function attack(world: World, attacker: SimClient, variant: number, epoch: number): void {
  const malicious = attacker.malicious;
  const connection = malicious?.connection;
  if (!malicious?.keys || !connection?.joined) return;
  const seq = connection.seq ?? 0;
  const peers = malicious.peers();
  const leader = leaderOf(world);
  const current = Math.max(0, ...world.clients.map((c) => c.sending));
  switch (variant % 6) {
    case 0: // a key envelope pinning a huge epoch
      for (const peer of peers) {
        malicious.sendKeyMessage(
          peer,
          keyDelivery({
            epoch,
            groupKey: world.random(32),
            kind: variant % 12 < 6 ? "current" : "fresh",
            chainStart: epoch,
            leaderSeq: seq,
          }),
        );
      }
      return;
    case 1: // the next fresh key from the leader is answered with a huge "have"
      malicious.onKeyMessage = ({ from, message }) => {
        if (message.type !== "key" || message.kind !== "fresh") return;
        malicious.onKeyMessage = undefined;
        malicious.sendKeyMessage(from, { type: "ack", epoch: message.epoch, have: epoch });
      };
      return;
    case 2: // an absurd key request
      if (leader) {
        malicious.sendKeyMessage(leader.session.participantId, {
          type: "key-request",
          epoch,
          have: variant % 12 < 6 ? epoch : 0,
        });
      }
      return;
    case 3: // rival leader: a current key just above
      for (const peer of peers) {
        malicious.sendKeyMessage(
          peer,
          keyDelivery({
            epoch: current + 1 + (variant % 3),
            groupKey: world.random(32),
            kind: "current",
            chainStart: current + 1 + (variant % 3),
            leaderSeq: seq,
          }),
        );
      }
      return;
    case 4: {
      // rival leader: fresh key and its commit
      const groupKey = world.random(32);
      const next = current + 2;
      for (const peer of peers) {
        malicious.sendKeyMessage(
          peer,
          keyDelivery({ epoch: next, groupKey, kind: "fresh", chainStart: next, leaderSeq: seq }),
        );
      }
      malicious.broadcast({
        kind: "commit",
        epoch: next,
        chainStart: next,
        leaderSeq: seq,
        keyCheck: keyCheckOf(groupKey),
      });
      return;
    }
    default: // a huge-epoch ratchet broadcast in its own name
      malicious.broadcast({
        kind: "ratchet",
        epoch,
        chainStart: 1,
        leaderSeq: seq,
        keyCheck: keyCheckOf(world.random(32)),
      });
  }
}

function apply(world: World, step: AdversaryOp, attacker: SimClient | undefined): void {
  const members = active(world);
  const pick = (n: number) => members[n % Math.max(1, members.length)];
  const relay = world.relay;
  switch (step.kind) {
    case "join":
      if (members.length < MAX_CLIENTS && world.clients.length < MAX_CLIENTS + 6) world.addClient();
      break;
    case "leave": {
      const client = pick(step.who);
      if (client) world.leave(client);
      break;
    }
    case "leave-leader": {
      const leader = leaderOf(world);
      if (leader) world.leave(leader);
      break;
    }
    case "drop": {
      const client = pick(step.who);
      if (client) world.dropSocket(client);
      break;
    }
    case "withhold": {
      const target = pick(step.who)?.current?.connection;
      if (!target) break;
      const rule = (to: typeof target, frame: { type: string }) =>
        to === target && (frame.type === "message" || frame.type === "broadcast")
          ? ("drop" as const)
          : undefined;
      relay.rules.push(rule);
      world.clock.setTimeout(() => {
        relay.rules = relay.rules.filter((r) => r !== rule);
      }, step.ms);
      break;
    }
    case "hide-leave": {
      const leaver = pick(step.who);
      const leader = leaderOf(world);
      if (!leaver || !leader) break;
      const hideFrom = step.fromLeader ? leader : members.find((m) => m !== leaver && m !== leader);
      const connection = hideFrom?.current?.connection;
      if (!connection || hideFrom === leaver) break;
      const id = leaver.session.participantId;
      relay.rules.push((to, frame) =>
        to === connection && frame.type === "member-left" && frame.participantId === id
          ? "hold"
          : undefined,
      );
      world.leave(leaver);
      break;
    }
    case "split": {
      // Membership notices to one part of the room are held until the relay turns honest.
      const half = new Set(
        members.filter((_, i) => (i + step.who) % 2 === 0).map((m) => m.current?.connection),
      );
      relay.rules.push((to, frame) =>
        half.has(to) && (frame.type === "member-joined" || frame.type === "member-left")
          ? "hold"
          : undefined,
      );
      break;
    }
    case "stall-join": {
      if (members.length >= MAX_CLIENTS) break;
      const client = world.addClient();
      const id = client.session.participantId;
      relay.stalledJoins.add(id);
      world.clock.setTimeout(() => relay.stalledJoins.delete(id), step.ms);
      break;
    }
    case "replay": {
      const live = new Set(relay.members().map((m) => m.participantId));
      const recordings = relay.admissions.filter(
        (a) => !live.has(a.participantId) && !relay.replayed.has(a.participantId),
      );
      const recording = recordings[step.pick % Math.max(1, recordings.length)];
      if (recording) relay.replayAnnouncement(recording, step.lowSeq ? 0 : 100_000);
      break;
    }
    case "restart-room":
      // Everyone leaves (a new room life begins, seq restarts), then two newcomers start it.
      for (const client of world.clients) if (!client.left) world.leave(client);
      world.run(2_000);
      world.addClient();
      world.run(500);
      world.addClient();
      break;
    case "attack":
      if (attacker) attack(world, attacker, step.variant, step.epoch);
      break;
  }
  world.run(step.wait);
}

export function simulateAdversary(
  input: { seed: number; initial: number; malicious: boolean; ops: AdversaryOp[] },
  faults: Faults,
): World {
  const world = new World({ seed: input.seed, adversarial: true });
  world.setFaults(faults);
  for (let i = 0; i < input.initial; i++) {
    world.addClient();
    world.run(300);
  }
  const attacker = input.malicious ? world.addMalicious() : undefined;
  world.run(1_000);
  for (const step of input.ops) apply(world, step, attacker);
  // The relay turns honest: held notices arrive, recordings "leave", and members must converge.
  // The attacker leaves first: while it stays it may deny service (for example as leader, after
  // pinning its own envelope channel to us with a huge epoch), which the threat model allows.
  if (attacker?.malicious) attacker.malicious.onKeyMessage = undefined;
  if (attacker && !attacker.left) world.leave(attacker);
  world.relay.heal();
  for (const id of [...world.relay.replayed.keys()]) world.relay.retireReplayed(id);
  world.quiet(30_000);
  world.checkConvergence();
  return world;
}
