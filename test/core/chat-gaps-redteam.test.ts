// Red-team tests of the chat's gap notices and replay windows (web/src/core/chat.ts,
// chat-window.ts). Each test is an attack that asserts the SECURE behaviour: a failing test is an
// attack that works. ChatChannels run over a hand-driven "server" (every delivery is the test's
// choice), with members that may sign whatever they like. The harness is copied from
// chat-redteam.test.ts.
import { describe, expect, it } from "vitest";
import type { ChatEntry } from "../../web/src/core/chat.js";
import { type Bench, type Member, mesh, meshed, relayAll } from "./chat-bench.js";

/** The chat's Lamport time for the bench clock's now (seconds since 2026-01-01 UTC). */
function wallLamport(bench: Bench): number {
  return Math.floor((bench.clock.now() - Date.UTC(2026, 0, 1)) / 1000);
}

function missingFrom(member: Member, from: string): ChatEntry[] {
  return member.channel.log().filter((e) => e.state === "missing" && e.from === from);
}

describe("chat gaps red team: an honest sender never causes a notice", () => {
  it("a reaction while queued lines wait after a refused flush does not show them as missing", () => {
    const {
      bench,
      members: [alice, bob],
    } = meshed("alice", "bob");
    alice.channel.sendText("before the lock-out");
    relayAll(bench, alice);
    // Locked out: two lines wait for a key without the leaver.
    alice.sending = 0;
    alice.channel.sendText("queued one");
    alice.channel.sendText("queued two");
    // The new key arrives while the socket refuses sends; then the socket takes sends again.
    const key2 = bench.random(32);
    for (const m of [alice, bob]) {
      m.installed.set(2, key2);
      m.channel.keysChanged();
    }
    alice.sending = 2;
    alice.broadcastWorks = false;
    alice.channel.sendingChanged(2);
    alice.broadcastWorks = true;
    // Alice reacts (or raises her hand): a new counter goes out ahead of the queued ones.
    const from = alice.sent.length;
    alice.channel.react("👍");
    relayAll(bench, alice, from);
    bench.clock.runUntil(bench.clock.now() + 10_000);
    expect(missingFrom(bob, "alice")).toEqual([]);
    expect(bob.counters.chat.missing).toBe(0);
  });
  it("a sender's reload (same participant id, new counters) shows no notice at receivers", () => {
    const {
      bench,
      members: [alice, bob],
    } = meshed("alice", "bob");
    alice.channel.sendText("before the reload");
    alice.channel.react("👍");
    relayAll(bench, alice);
    bob.forget(alice);
    const again = bench.add("alice");
    mesh(again, bob);
    again.channel.sendText("after the reload");
    again.channel.setHand(true);
    again.channel.sendText("and again");
    relayAll(bench, again);
    bench.clock.runUntil(bench.clock.now() + 10_000);
    expect(bob.shown()).toHaveLength(3);
    expect(bob.counters.chat.missing).toBe(0);
  });
});

describe("chat gaps red team: a member cannot hide the server's drops of honest lines", () => {
  it("a member's flood of counter gaps does not stop an honest sender's dropped line being reported", () => {
    const {
      bench,
      members: [alice, bob, mallory],
    } = meshed("alice", "bob", "mallory");
    // Mallory sends reactions (nothing enters the log) with counters 1, 3, 5, ...: 64 gaps wait.
    const lamport = wallLamport(bench);
    for (let i = 0; i <= 64; i++) {
      bob.receive(
        mallory,
        mallory.forge({ epoch: 1, lamport, counter: 1 + 2 * i }, { type: "reaction", emoji: "👍" }),
      );
    }
    // Alice sends three lines; the colluding server drops the middle one for bob.
    alice.channel.sendText("one");
    alice.channel.sendText("two");
    alice.channel.sendText("three");
    bob.receive(alice, alice.sent[0]);
    bob.receive(alice, alice.sent[2]);
    bench.clock.runUntil(bench.clock.now() + 10_000);
    expect(bob.shown()).toEqual(["alice: one", "alice: three"]);
    // The drop must not vanish silently.
    expect(missingFrom(bob, "alice").map((e) => e.missed)).toEqual([1]);
  });
});

describe("chat gaps red team: a receiver's reconnect", () => {
  /** Bob's socket drops and he rejoins: roster and keys reset, the log kept, alice re-announced. */
  function reconnect(bench: Bench, bob: Member, alice: Member, epoch: number): void {
    bob.channel.lost();
    bob.peers.clear();
    bob.channel.rosterChanged();
    bob.installed.clear();
    bob.channel.keysChanged();
    const key = bench.random(32);
    bench.keys.set(epoch, key);
    bob.installed.set(epoch, key);
    alice.installed.set(epoch, key);
    bob.channel.keysChanged();
    // Alice did not leave: the same incarnation (same signing key) is verified again.
    bob.knows(alice);
  }

  it("refuses old lines the server replays after the reconnect: no second copy, no false notice", () => {
    const {
      bench,
      members: [alice, bob],
    } = meshed("alice", "bob");
    alice.channel.sendText("one");
    alice.channel.sendText("two");
    alice.channel.sendText("three");
    relayAll(bench, alice);
    expect(bob.shown()).toEqual(["alice: one", "alice: two", "alice: three"]);
    const before = bob.ids();
    reconnect(bench, bob, alice, 2);
    // The server replays "one" and "three", not "two".
    bob.receive(alice, alice.sent[0]);
    bob.receive(alice, alice.sent[2]);
    bench.clock.runUntil(bench.clock.now() + 10_000);
    expect(bob.ids()).toEqual(before);
    expect(new Set(bob.ids()).size).toBe(bob.ids().length);
    expect(bob.counters.chat.missing).toBe(0);
  });
});
