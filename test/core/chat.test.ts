// Chat over the simulator (docs/chat.md): real CallSessions, the Worker's own room rules behind a
// relay that drops, duplicates, reorders, replays and injects. Each property is an attack first:
// what a lying server or a member (a leaver keeping every byte included) would like to see, and
// that it does not.
import { describe, expect, it } from "vitest";
import { fromBase64url, toBase64url } from "../../web/src/core/base64url.js";
import { openChat, sealChat } from "../../web/src/core/chat-message.js";
import { ratchetGroupKey } from "../../web/src/core/identifiers.js";
import type { ServerFrame } from "./sim/relay.js";
import { type Incarnation, LOCKOUT_DEADLINE_MS, type SimClient, World } from "./sim/world.js";

interface SentChat {
  readonly sender: SimClient;
  readonly payload: string;
  readonly epoch: number;
  /** The group key the sender held for that epoch, base64url. */
  readonly keyText: string | undefined;
  readonly at: number;
}

const MAX_LEAVER_STEPS = 20;

function chatEpochOf(payload: string): number | undefined {
  const bytes = fromBase64url(payload);
  if (bytes[0] !== 0x43) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(2);
}

/** Records every chat broadcast an honest client sends, with the key it was sealed under. */
function recordChats(world: World): SentChat[] {
  const sent: SentChat[] = [];
  world.sentListeners.push((client, _connection, data) => {
    const frame = JSON.parse(data) as { type: string; payload?: string };
    if (frame.type !== "broadcast" || frame.payload === undefined || client.malicious) return;
    const epoch = chatEpochOf(frame.payload);
    if (epoch === undefined) return;
    sent.push({
      sender: client,
      payload: frame.payload,
      epoch,
      keyText: client.installed.get(epoch),
      at: world.clock.now(),
    });
  });
  return sent;
}

function joinAll(world: World, n: number): SimClient[] {
  const clients: SimClient[] = [];
  for (let i = 0; i < n; i++) {
    clients.push(world.addClient());
    world.run(1_000);
  }
  world.run(3_000);
  return clients;
}

function texts(client: SimClient): string[] {
  return client.session
    .snapshot()
    .chat.filter((entry) => entry.state === "shown")
    .map((entry) => `${entry.displayName}: ${entry.text}`);
}

/** Every key `incarnation` ever held, ratcheted up to `epoch` where it can be. */
function keysAt(incarnation: Incarnation, epoch: number): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (const [heldEpoch, held] of incarnation.everHeld) {
    const steps = epoch - heldEpoch;
    if (steps < 0 || steps > MAX_LEAVER_STEPS) continue;
    for (const raw of held.values()) {
      let key = raw;
      for (let i = 0; i < steps; i++) key = ratchetGroupKey(key);
      keys.push(key);
    }
  }
  return keys;
}

function opensWith(keys: Uint8Array[], roomId: string, sent: SentChat): boolean {
  const bytes = fromBase64url(sent.payload);
  const signed = {
    epoch: sent.epoch,
    lamport: 0,
    counter: 0,
    header: bytes.slice(0, 38),
    ciphertext: bytes.slice(38, bytes.length - 64),
  };
  return keys.some((key) => {
    try {
      openChat({ roomId, senderId: sent.sender.session.participantId }, key, signed);
      return true;
    } catch {
      return false;
    }
  });
}

describe("chat between members", () => {
  it("shows every line once, in one order on every member, under its sender's verified name, on a relay that duplicates, reorders and replays", () => {
    const world = new World({ seed: 11 });
    const members = joinAll(world, 3);
    world.setFaults({
      dropRate: 0,
      duplicateRate: 0.3,
      reorder: true,
      minDelayMs: 1,
      maxDelayMs: 300,
      replayRate: 0.2,
    });
    for (let round = 0; round < 5; round++) {
      for (const member of members) {
        expect(member.session.sendChat(`line ${round} from ${member.index}`)).toBe(true);
        world.run(37);
      }
    }
    world.quiet(3_000);
    const logs = members.map((member) => member.session.snapshot().chat.map((entry) => entry.id));
    for (const log of logs) {
      expect(log).toHaveLength(15);
      expect(new Set(log).size).toBe(15);
      expect(log).toEqual(logs[0]);
    }
    for (const member of members) {
      for (const other of members) {
        for (let round = 0; round < 5; round++) {
          expect(texts(member)).toContain(
            `Client ${other.index}: line ${round} from ${other.index}`,
          );
        }
      }
    }
    const replayed = members.reduce((sum, m) => sum + m.session.metrics().chat.replayed, 0);
    expect(replayed).toBeGreaterThan(0);
  });

  it("shows reactions to everyone as the sender's, and raised hands to members who join later", () => {
    const world = new World({ seed: 12 });
    const [a, b, c] = joinAll(world, 3) as [SimClient, SimClient, SimClient];
    const reactions: string[] = [];
    c.session.on("reaction", (r) => reactions.push(`${r.from}:${r.emoji}`));
    expect(b.session.react("🎉")).toBe(true);
    a.session.setHand(true);
    world.run(500);
    expect(reactions).toEqual([`${b.session.participantId}:🎉`]);
    expect(b.session.snapshot().hands).toEqual([a.session.participantId]);
    const late = world.addClient();
    world.run(4_000);
    expect(late.session.snapshot().hands).toEqual([a.session.participantId]);
    a.session.setHand(false);
    world.run(500);
    for (const member of [b, c, late]) expect(member.session.snapshot().hands).toEqual([]);
    b.session.setHand(true);
    world.run(500);
    world.leave(b);
    world.run(1_000);
    for (const member of [a, c, late]) expect(member.session.snapshot().hands).toEqual([]);
  });
});

describe("chat across incarnations and reordering", () => {
  it("a member who reloads the page (same participant id, a new session) is heard from its first line", () => {
    // On a wall-clock date: the reloaded session saw none of the earlier lines, and its Lamport
    // times come from the clock, so its lines still sort after them.
    const world = new World({ seed: 17, startAt: Date.UTC(2026, 11, 3, 9) });
    const [a, b] = joinAll(world, 2) as [SimClient, SimClient];
    for (let i = 0; i < 3; i++) {
      expect(b.session.sendChat(`before the reload ${i}`)).toBe(true);
      world.run(200);
    }
    world.leave(b);
    world.run(3_000);
    const reloaded = world.addClient(undefined, b);
    expect(reloaded.session.participantId).toBe(b.session.participantId);
    world.run(4_000);
    for (let i = 0; i < 3; i++) {
      expect(reloaded.session.sendChat(`after the reload ${i}`)).toBe(true);
      world.run(200);
    }
    world.run(1_000);
    const shown = a.session.snapshot().chat.filter((entry) => entry.state === "shown");
    expect(shown.map((entry) => entry.text)).toEqual([
      "before the reload 0",
      "before the reload 1",
      "before the reload 2",
      "after the reload 0",
      "after the reload 1",
      "after the reload 2",
    ]);
    expect(new Set(shown.map((entry) => entry.id)).size).toBe(6);
    expect(a.session.metrics().chat.replayed).toBe(0);
  });

  it("a hand lowered after it was raised stays down when the relay delivers the two the other way round", () => {
    const world = new World({ seed: 18 });
    const [a, b] = joinAll(world, 2) as [SimClient, SimClient];
    const target = b.current?.connection;
    if (!target) throw new Error("setup");
    const sent = recordChats(world);
    // The relay keeps a's hand messages from b, then delivers them newest first.
    let dropping = true;
    world.relay.rules.push((to, frame: ServerFrame) =>
      dropping && to === target && frame.type === "broadcast" ? "drop" : undefined,
    );
    a.session.setHand(true);
    world.run(100);
    a.session.setHand(false);
    world.run(100);
    expect(sent).toHaveLength(2);
    dropping = false;
    for (const { payload } of [...sent].reverse()) {
      world.relay.dispatch(target, { type: "broadcast", from: a.session.participantId, payload });
    }
    world.run(1_000);
    expect(b.session.snapshot().hands).toEqual([]);
  });
});

describe("chat when a server drops lines", () => {
  it("says how many of a sender's messages never arrived, where they would have been, and nothing for a line only delayed", () => {
    const world = new World({ seed: 19 });
    const [a, b, c] = joinAll(world, 3) as [SimClient, SimClient, SimClient];
    const toC = c.current?.connection;
    const toA = a.current?.connection;
    if (!toC || !toA) throw new Error("setup");
    expect(b.session.sendChat("one")).toBe(true);
    world.run(300);
    // The server drops b's next two messages (a line and a reaction) to c, and delays the one
    // after them to a by two seconds (less than the wait for a gap to fill).
    let dropping = 2;
    let delaying = false;
    world.relay.rules.push((to, frame: ServerFrame) => {
      if (frame.type !== "broadcast" || frame.from !== b.session.participantId) return undefined;
      if (to === toC && dropping > 0) {
        dropping -= 1;
        return "drop";
      }
      return to === toA && delaying ? "hold" : undefined;
    });
    expect(b.session.sendChat("two")).toBe(true);
    world.run(100);
    expect(b.session.react("👍")).toBe(true);
    world.run(100);
    delaying = true;
    expect(b.session.sendChat("three")).toBe(true);
    world.run(100);
    delaying = false;
    expect(b.session.sendChat("four")).toBe(true);
    world.run(2_000);
    world.relay.heal();
    world.run(8_000);
    const seenByC = c.session
      .snapshot()
      .chat.map((e) =>
        e.state === "missing" ? `missing ${e.missed} from ${e.displayName}` : e.text,
      );
    expect(seenByC).toEqual(["one", "missing 2 from Client 1", "three", "four"]);
    expect(c.session.metrics().chat.missing).toBe(2);
    // a got every message, one of them late: no notice.
    expect(a.session.snapshot().chat.map((e) => e.text)).toEqual(["one", "two", "three", "four"]);
    expect(a.session.metrics().chat.missing).toBe(0);
  });

  it("counts nothing as missing when a line was refused before it was sent", () => {
    const world = new World({ seed: 20 });
    const [a, b] = joinAll(world, 2) as [SimClient, SimClient];
    expect(b.session.sendChat("one")).toBe(true);
    world.run(300);
    // A line too long is refused before it takes a counter.
    expect(b.session.sendChat("x".repeat(2_001))).toBe(false);
    expect(b.session.sendChat("two")).toBe(true);
    world.run(8_000);
    expect(a.session.snapshot().chat.map((e) => e.state)).toEqual(["shown", "shown"]);
    expect(a.session.metrics().chat.missing).toBe(0);
  });
});

describe("chat against a lying server", () => {
  it("never shows a message as someone's when the server attributes it to them, replays it under their name, or makes it up", () => {
    const world = new World({ seed: 13 });
    const [a, b, c] = joinAll(world, 3) as [SimClient, SimClient, SimClient];
    const sent = recordChats(world);
    a.session.sendChat("said by a");
    world.run(500);
    const original = sent[0];
    expect(original).toBeDefined();
    const target = c.current?.connection;
    if (!original || !target) throw new Error("setup");
    const before = c.session.snapshot().chat.length;
    // a's real message, attributed to b.
    world.relay.dispatch(target, {
      type: "broadcast",
      from: b.session.participantId,
      payload: original.payload,
    });
    // Random bytes in the chat format, attributed to b.
    const junk = new Uint8Array(300);
    junk.set(world.random(300));
    junk[0] = 0x43;
    world.relay.dispatch(target, {
      type: "broadcast",
      from: b.session.participantId,
      payload: toBase64url(junk),
    });
    // a's message again, under its own name (a replay).
    world.relay.dispatch(target, {
      type: "broadcast",
      from: a.session.participantId,
      payload: original.payload,
    });
    world.run(6_000);
    expect(c.session.snapshot().chat).toHaveLength(before);
    expect(c.session.metrics().chat.rejected).toBe(2);
    expect(c.session.metrics().chat.replayed).toBe(1);
  });

  it("refuses a line a member seals with the epoch key under another member's name", () => {
    const world = new World({ seed: 14 });
    const [a, b] = joinAll(world, 2) as [SimClient, SimClient];
    const mallory = world.addMalicious();
    world.run(4_000);
    const epoch = mallory.sending;
    const groupKey = mallory.installed.get(epoch);
    const keys = mallory.malicious.keys;
    const target = a.current?.connection;
    if (!groupKey || !keys || !target) throw new Error("setup");
    const forged = sealChat(
      { roomId: a.session.roomId, senderId: b.session.participantId },
      keys.ed25519SecretKey,
      fromBase64url(groupKey),
      { epoch, lamport: 99, counter: 1 },
      { type: "text", text: "I am b" },
      world.random,
    );
    world.relay.dispatch(target, {
      type: "broadcast",
      from: b.session.participantId,
      payload: toBase64url(forged),
    });
    world.run(1_000);
    expect(a.session.snapshot().chat).toEqual([]);
    expect(a.session.metrics().chat.rejected).toBe(1);
  });

  it("does not show a joiner what was said before it joined, even when the server replays it", () => {
    const world = new World({ seed: 15 });
    const [a] = joinAll(world, 2) as [SimClient, SimClient];
    const sent = recordChats(world);
    a.session.sendChat("before the joiner");
    world.run(500);
    const joiner = world.addClient();
    world.run(4_000);
    const target = joiner.current?.connection;
    const early = sent[0];
    if (!target || !early || !joiner.current) throw new Error("setup");
    world.relay.dispatch(target, {
      type: "broadcast",
      from: a.session.participantId,
      payload: early.payload,
    });
    world.run(6_000);
    expect(joiner.session.snapshot().chat).toEqual([]);
    expect(joiner.session.metrics().chat.beforeJoin).toBe(1);
    expect(opensWith(keysAt(joiner.current, early.epoch), a.session.roomId, early)).toBe(false);
    a.session.sendChat("after the joiner");
    world.run(500);
    expect(texts(joiner)).toEqual(["Client 0: after the joiner"]);
  });

  it("shows a message for an epoch the receiver no longer holds as could-not-be-decrypted, with its sender's name", () => {
    const world = new World({ seed: 16 });
    const [a, b, c, d] = joinAll(world, 4) as [SimClient, SimClient, SimClient, SimClient];
    const target = c.current?.connection;
    if (!target) throw new Error("setup");
    // The server holds b's next broadcast to c until after a leave has rotated the key and the old
    // one has been retired.
    let holding = true;
    world.relay.rules.push((to, frame: ServerFrame) =>
      holding &&
      to === target &&
      frame.type === "broadcast" &&
      frame.from === b.session.participantId
        ? "hold"
        : undefined,
    );
    b.session.sendChat("delayed");
    world.run(200);
    holding = false;
    world.leave(d);
    world.run(10_000);
    world.relay.heal();
    world.run(1_000);
    const entry = c.session.snapshot().chat.find((e) => e.from === b.session.participantId);
    expect(entry?.state).toBe("undecryptable");
    expect(entry?.displayName).toBe("Client 1");
    expect(entry?.text).toBeUndefined();
    expect(texts(a)).toEqual(["Client 1: delayed"]);
  });
});

describe("chat and the lock-out", () => {
  for (const seed of [21, 22, 23]) {
    it(`a leaver that keeps every key and byte reads nothing sent after its lock-out deadline (seed ${seed})`, () => {
      const world = new World({ seed, adversarial: true });
      const honest = joinAll(world, 3);
      const leaver = world.addMalicious();
      world.run(4_000);
      const sent = recordChats(world);
      world.setFaults({
        dropRate: 0.05,
        duplicateRate: 0.1,
        reorder: true,
        minDelayMs: 1,
        maxDelayMs: 200,
        replayRate: 0.05,
      });
      const incarnation = leaver.current;
      const roomId = leaver.session.roomId;
      if (!incarnation) throw new Error("setup");
      let leftAt = 0;
      for (let step = 0; step < 60; step++) {
        const speaker = honest[step % honest.length];
        speaker?.session.sendChat(`line ${step}`);
        if (step === 20) {
          world.leave(leaver);
          leftAt = world.clock.now();
        }
        world.run(150);
      }
      world.quiet(5_000);
      const late = sent.filter((s) => s.at > leftAt + LOCKOUT_DEADLINE_MS);
      const early = sent.filter((s) => s.at < leftAt);
      expect(late.length).toBeGreaterThan(20);
      expect(early.length).toBeGreaterThan(10);
      for (const message of late) {
        expect(message.keyText).toBeDefined();
        expect(world.canDerive(incarnation, message.epoch, message.keyText ?? "")).toBe(false);
        expect(opensWith(keysAt(incarnation, message.epoch), roomId, message)).toBe(false);
      }
      // The check can fail: the leaver does open what was sent while it was in the call.
      expect(early.some((m) => opensWith(keysAt(incarnation, m.epoch), roomId, m))).toBe(true);
      // What members show is what was said, each line once (the relay dropped some: a server may).
      for (const member of honest) {
        const shown = texts(member);
        expect(new Set(shown).size).toBe(shown.length);
        expect(shown.length).toBeGreaterThan(40);
        for (const line of shown) expect(line).toMatch(/^Client [0-2]: line \d+$/);
      }
      expect(world.violations).toEqual([]);
    });
  }

  it("queues a line typed while locked out and sends it under the key without the leaver", () => {
    const world = new World({ seed: 31 });
    const [a, b, c] = joinAll(world, 3) as [SimClient, SimClient, SimClient];
    const target = b.current?.connection;
    if (!target) throw new Error("setup");
    // The server withholds every key envelope from b after c leaves: b's lock-out deadline passes
    // and it must go silent.
    world.relay.rules.push((to, frame) =>
      to === target && frame.type === "message" ? "drop" : undefined,
    );
    world.leave(c);
    world.run(LOCKOUT_DEADLINE_MS + 1_000);
    expect(b.sending).toBe(0);
    expect(b.session.sendChat("while locked out")).toBe(true);
    expect(b.session.snapshot().chat.map((e) => e.state)).toEqual(["queued"]);
    world.run(1_000);
    expect(texts(a)).toEqual([]);
    world.relay.heal();
    world.run(6_000);
    expect(b.sending).not.toBe(0);
    expect(b.session.snapshot().chat.map((e) => e.state)).toEqual(["shown"]);
    expect(texts(a)).toEqual(["Client 1: while locked out"]);
  });
});
