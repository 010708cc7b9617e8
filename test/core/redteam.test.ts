// Red-team attacks on issue 9's fixes (core). Each test runs the attack on the simulator, with real
// CallSessions and a malicious member, and asserts what docs/design.md (Threat model) and
// docs/key-schedule.md promise. A failing test means the attack succeeds against the current code.
import { describe, expect, it } from "vitest";
import { LOCKOUT_DEADLINE_MS, type SimClient, World } from "./sim/world.js";

const SETTLE_MS = 3_000;

function call(seed: number, n: number) {
  const world = new World({ seed, adversarial: true });
  const honest: SimClient[] = [];
  for (let i = 0; i < n; i++) {
    honest.push(world.addClient());
    world.run(1_000);
  }
  const attacker = world.addMalicious();
  world.run(3_000);
  for (const client of [...honest, attacker]) {
    if (client.sending === 0) throw new Error(`setup: client ${client.index} has no key`);
  }
  return { world, honest, attacker };
}

function idOf(client: SimClient): string {
  return client.session.participantId;
}

/** What every honest member sends with, and whether they all agree on a usable key. */
function sendingView(clients: readonly SimClient[]) {
  return clients.map((c) => ({
    client: c.index,
    epoch: c.sending,
    key: c.installed.get(c.sending) ?? "none",
  }));
}

function expectConvergedAndSending(clients: readonly SimClient[]) {
  const views = sendingView(clients);
  const [first] = views;
  if (!first) throw new Error("no clients");
  expect(views).toEqual(
    views.map((v) => ({ client: v.client, epoch: first.epoch, key: first.key })),
  );
  expect(first.epoch).not.toBe(0);
}

describe("red team: wedging the key schedule with epoch claims inside the allowed step", () => {
  it("one forged ack whose 'have' is exactly pending + lookahead makes the leader re-key one epoch beyond every member's window: after a leave nobody can send again", () => {
    const { world, honest, attacker } = call(9101, 3);
    const [leader, member, leaver] = honest;
    if (!leader || !member || !leaver) throw new Error("setup");
    const malicious = attacker.malicious;
    let forged = 0;
    malicious.onKeyMessage = ({ from, message }) => {
      if (from !== idOf(leader) || message.type !== "key" || message.kind !== "fresh") return;
      if (forged > 0) return;
      forged += 1;
      // 16 = maxRatchetLookahead: the leader accepts have <= pending + 16 and re-keys at have + 1.
      malicious.sendKeyMessage(from, {
        type: "ack",
        epoch: message.epoch,
        have: message.epoch + 16,
      });
    };
    world.leave(leaver);
    world.run(LOCKOUT_DEADLINE_MS + SETTLE_MS);
    expect(forged).toBe(1);
    // Long after, with an honest relay: the remaining honest members must share a usable key.
    world.run(60_000);
    expectConvergedAndSending([leader, member]);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
  });

  it("a burst of key requests, each claiming one epoch more, creeps the leader's epoch past every member's window: the next rotation wedges the call", () => {
    const { world, honest, attacker } = call(9102, 3);
    const [leader, member, other] = honest;
    if (!leader || !member || !other) throw new Error("setup");
    const epoch = leader.sending;
    // Each request is within "maxKnown + lookahead" of what the leader knows at that moment, and
    // each moves the leader's known epoch by one: 20 envelopes move it by 20.
    for (let i = 1; i <= 20; i++) {
      attacker.malicious.sendKeyMessage(idOf(leader), {
        type: "key-request",
        epoch: epoch + 15 + i,
        have: 0,
      });
    }
    // A few periodic rotations (SIM_SCHEDULE: every 5 s) with an honest relay.
    world.run(30_000);
    expectConvergedAndSending([leader, member, other]);
    world.checkConvergence();
    expect(world.violations).toEqual([]);
  });
});
