// Red-team tests of the chat (web/src/core/chat.ts, chat-message.ts). Each test is an attack that
// asserts the SECURE behaviour: a failing test is an attack that works. Most run ChatChannels
// directly over a hand-driven "server" (every delivery is the test's choice: drop, delay, reorder,
// replay), with a member (Mallory) that holds the epoch keys and its own signing key and signs
// whatever it likes.
import { describe, expect, it } from "vitest";
import { CHAT_LOG_MAX } from "../../web/src/core/chat.js";
import { Bench, mesh, meshed, relayAll } from "./chat-bench.js";

describe("chat red team: dedupe and replays", () => {
  it("never shows a line twice, even after a member floods reactions to push it out of the dedupe set", () => {
    const {
      bench,
      members: [alice, bob, mallory],
    } = meshed("alice", "bob", "mallory");
    expect(alice.channel.sendText("hello")).toBe(true);
    relayAll(bench, alice);
    expect(bob.shown()).toEqual(["alice: hello"]);
    // 8,193 reactions: nothing enters the log, but each is remembered as seen (41 s at the room's
    // default 200 frames a second).
    for (let i = 0; i < 8_193; i++) mallory.channel.react("👍");
    for (const bytes of mallory.sent) bob.receive(mallory, bytes);
    // The server replays alice's line.
    bob.receive(alice, alice.sent[0]);
    expect(bob.ids()).toHaveLength(1);
    expect(bob.shown()).toEqual(["alice: hello"]);
  });

  it("shows the lines of a member that reloaded its page (same participant id, a new session and keys)", () => {
    const {
      bench,
      members: [alice, bob],
    } = meshed("alice", "bob");
    alice.channel.sendText("before the reload");
    relayAll(bench, alice);
    // The page reloads: a new session with the same stored user and device id, so the same
    // participant id, new key pairs, and a new ChatChannel whose counter starts at 1 again.
    bob.forget(alice);
    const again = bench.add("alice");
    mesh(again, bob);
    again.channel.sendText("after the reload");
    relayAll(bench, again);
    expect([...bob.shown()].sort()).toEqual([
      "alice: after the reload",
      "alice: before the reload",
    ]);
    expect(new Set(bob.ids()).size).toBe(bob.ids().length);
    // And the old incarnation's line, replayed by the server, is refused (its key is gone).
    bob.receive("alice", alice.sent[0]);
    expect(bob.shown()).toHaveLength(2);
  });

  it("refuses a departed member's lines replayed by the server, and its held ones once it leaves", () => {
    const {
      bench,
      members: [alice, bob],
    } = meshed("alice", "bob");
    alice.channel.sendText("while here");
    bench.keys.set(2, bench.random(32));
    alice.installed.set(2, bench.keys.get(2) as Uint8Array);
    alice.sending = 2;
    alice.channel.setHand(true);
    alice.channel.sendText("under a key bob does not have yet");
    const [line, hand, ahead] = alice.sent;
    bob.receive(alice, line);
    bob.receive(alice, hand);
    bob.receive(alice, ahead);
    bob.forget(alice);
    bob.installed.set(2, bench.keys.get(2) as Uint8Array);
    bob.channel.keysChanged();
    bench.clock.runUntil(bench.clock.now() + 10_000);
    bob.receive(alice, line);
    bob.receive(alice, hand);
    bob.receive(alice, ahead);
    bench.clock.runUntil(bench.clock.now() + 10_000);
    expect(bob.shown()).toEqual(["alice: while here"]);
    expect(bob.channel.raisedHands()).toEqual([]);
  });
});

describe("chat red team: raised hands", () => {
  it("keeps a lowered hand lowered when the server delivers the 'up' after the 'down'", () => {
    const {
      members: [alice, bob],
    } = meshed("alice", "bob");
    alice.channel.setHand(true);
    alice.channel.setHand(false);
    const [up, down] = alice.sent;
    bob.receive(alice, down);
    bob.receive(alice, up);
    expect(alice.channel.raisedHands()).toEqual([]);
    expect(bob.channel.raisedHands()).toEqual([]);
  });
});

describe("chat red team: Lamport clocks", () => {
  it("shows later joiners the call's chat after a member opened it with the largest first Lamport time", () => {
    const {
      bench,
      members: [alice, bob, mallory],
    } = meshed("alice", "bob", "mallory");
    // Nobody has spoken: every clock is at 0 with an empty log, so 2^31 - 1 is accepted.
    const pin = mallory.forge(
      { epoch: 1, lamport: 0x7fffffff, counter: 1 },
      { type: "text", text: "hi" },
    );
    alice.receive(mallory, pin);
    bob.receive(mallory, pin);
    // Mallory leaves; the server is honest from now on.
    alice.forget(mallory);
    bob.forget(mallory);
    const carol = bench.add("carol");
    mesh(alice, bob, carol);
    alice.channel.sendText("welcome carol");
    relayAll(bench, alice);
    expect(bob.shown()).toContain("alice: welcome carol");
    expect(carol.shown()).toEqual(["alice: welcome carol"]);
  });

  it("lets a member see the others again once the server stops dropping, after it withheld two Lamport jumps", () => {
    const {
      bench,
      members: [alice, bob, mallory],
    } = meshed("alice", "bob", "mallory");
    alice.channel.sendText("first");
    relayAll(bench, alice);
    // Two legal jumps of 65,536 each, delivered to alice only; the server drops them for bob.
    const base = alice.channel.log()[0]?.lamport ?? 0;
    for (const [counter, lamport] of [
      [1, base + 65_536],
      [2, base + 131_072],
    ] as const) {
      alice.receive(
        mallory,
        mallory.forge({ epoch: 1, lamport, counter }, { type: "reaction", emoji: "👍" }),
      );
    }
    alice.forget(mallory);
    bob.forget(mallory);
    const from = alice.sent.length;
    for (let i = 0; i < 5; i++) alice.channel.sendText(`later ${i}`);
    relayAll(bench, alice, from);
    expect(bob.shown()).toEqual(alice.shown());
  });

  it("shows a joiner's first line, as the newest, to members whose log is full", () => {
    const {
      bench,
      members: [alice, bob],
    } = meshed("alice", "bob");
    for (let i = 0; i < CHAT_LOG_MAX; i++) {
      alice.channel.sendText(`line ${i}`);
      bench.clock.runUntil(bench.clock.now() + 2_000);
    }
    relayAll(bench, alice);
    expect(bob.channel.log()).toHaveLength(CHAT_LOG_MAX);
    // Carol joins: no history reaches a joiner, so its clock is at 0 when it speaks first.
    bench.clock.runUntil(bench.clock.now() + 10_000);
    const carol = bench.add("carol");
    mesh(alice, bob, carol);
    carol.channel.sendText("hello, I just joined");
    relayAll(bench, carol);
    for (const member of [alice, bob]) {
      expect(member.shown().at(-1)).toBe("carol: hello, I just joined");
    }
  });

  it("shows a joiner's first line to members whose log is full, after a member pushed the clocks ahead", () => {
    const {
      bench,
      members: [alice, bob, mallory],
    } = meshed("alice", "bob", "mallory");
    alice.channel.sendText("line 0");
    relayAll(bench, alice);
    // One legal jump (a reaction, so nothing shows): everyone's clock is now 65,536 ahead.
    const ahead = (alice.channel.log()[0]?.lamport ?? 0) + 65_536;
    const jump = mallory.forge(
      { epoch: 1, lamport: ahead, counter: 1 },
      { type: "reaction", emoji: "🎉" },
    );
    alice.receive(mallory, jump);
    bob.receive(mallory, jump);
    const from = alice.sent.length;
    for (let i = 1; i <= CHAT_LOG_MAX; i++) {
      alice.channel.sendText(`line ${i}`);
      bench.clock.runUntil(bench.clock.now() + 2_000);
    }
    relayAll(bench, alice, from);
    bench.clock.runUntil(bench.clock.now() + 10_000);
    const carol = bench.add("carol");
    mesh(alice, bob, carol);
    carol.channel.sendText("hello, I just joined");
    relayAll(bench, carol);
    for (const member of [alice, bob]) {
      expect(member.shown()).toContain("carol: hello, I just joined");
    }
  });
});

describe("chat red team: held messages", () => {
  it("does not let a member's flood of held messages make an honest line vanish unseen", () => {
    const {
      bench,
      members: [alice, bob, mallory],
    } = meshed("alice", "bob", "mallory");
    // 256 signed messages for an epoch no one will ever have: each waits 5 s for its key.
    for (let counter = 1; counter <= 256; counter++) {
      bob.receive(
        mallory,
        mallory.forge({ epoch: 0xffffffff, lamport: counter, counter }, { type: "hand", up: true }),
      );
    }
    // Alice moves to epoch 2; the server delays bob's copy of the key by a second.
    const key2 = bench.random(32);
    alice.installed.set(2, key2);
    alice.sending = 2;
    alice.channel.sendText("sent under epoch 2");
    relayAll(bench, alice);
    bench.clock.runUntil(bench.clock.now() + 1_000);
    bob.installed.set(2, key2);
    bob.channel.keysChanged();
    bench.clock.runUntil(bench.clock.now() + 10_000);
    expect(bob.shown()).toEqual(["alice: sent under epoch 2"]);
  });

  it("bounds what it holds in count and bytes however many messages wait for keys", () => {
    const {
      bench,
      members: [bob, mallory],
    } = meshed("bob", "mallory");
    const big = "\u0000".repeat(2_000); // 12 kB of JSON escapes, the largest body there is
    for (let counter = 1; counter <= 600; counter++) {
      bob.receive(
        mallory,
        mallory.forge(
          { epoch: 1_000 + counter, lamport: counter, counter },
          { type: "text", text: big },
        ),
      );
    }
    const held = (
      bob.channel as unknown as { held: Map<string, { message: { ciphertext: Uint8Array } }> }
    ).held;
    expect(held.size).toBeLessThanOrEqual(256);
    const bytes = [...held.values()].reduce((sum, h) => sum + h.message.ciphertext.length, 0);
    expect(bytes).toBeLessThanOrEqual(256 * 16 * 1024);
    bench.clock.runUntil(bench.clock.now() + 10_000);
    expect(held.size).toBe(0);
    // Each shows as a message that could not be decrypted; the log stays at its cap.
    expect(bob.channel.log().length).toBeLessThanOrEqual(CHAT_LOG_MAX);
    expect(bob.channel.log().every((e) => e.state === "undecryptable")).toBe(true);
  });
});

describe("chat red team: missing messages", () => {
  it("a message that could not go out is not reported as one the server dropped", () => {
    const {
      bench,
      members: [alice, bob],
    } = meshed("alice", "bob");
    alice.channel.sendText("one");
    relayAll(bench, alice);
    alice.broadcastWorks = false;
    expect(alice.channel.react("👍")).toBe(false);
    alice.channel.setHand(true);
    alice.broadcastWorks = true;
    const from = alice.sent.length;
    alice.channel.sendText("two");
    relayAll(bench, alice, from);
    bench.clock.runUntil(bench.clock.now() + 10_000);
    expect(bob.channel.log().map((e) => e.state)).toEqual(["shown", "shown"]);
    expect(bob.counters.chat.missing).toBe(0);
  });

  it("a member jumping its counters gets one bounded notice, not a flood", () => {
    const {
      bench,
      members: [bob, mallory],
    } = meshed("bob", "mallory");
    const lamport = Math.floor((bench.clock.now() - Date.UTC(2026, 0, 1)) / 1000);
    for (const [i, counter] of [1, 2 ** 31, 2 ** 32 - 1].entries()) {
      bob.receive(
        mallory,
        mallory.forge({ epoch: 1, lamport: lamport + i, counter }, { type: "text", text: `${i}` }),
      );
    }
    bench.clock.runUntil(bench.clock.now() + 10_000);
    const missing = bob.channel.log().filter((e) => e.state === "missing");
    // The two gaps came within one wait: one notice for the whole range.
    expect(missing).toHaveLength(1);
    expect(bob.channel.log()).toHaveLength(4);
  });
});

describe("chat red team: the outbox", () => {
  it("sends a queued line later when the first flush after a key switch could not broadcast", () => {
    const bench = new Bench();
    const alice = bench.add("alice", "alice", 0);
    const bob = bench.add("bob");
    mesh(alice, bob);
    expect(alice.channel.sendText("typed before the key")).toBe(true);
    // The key arrives while the socket is between a close and its reconnect.
    alice.sending = 1;
    alice.broadcastWorks = false;
    alice.channel.sendingChanged(1);
    alice.broadcastWorks = true;
    alice.channel.sendingChanged(1);
    relayAll(bench, alice);
    expect(bob.shown()).toEqual(["alice: typed before the key"]);
    expect(alice.channel.log().map((e) => e.state)).toEqual(["shown"]);
  });
});
