// A call of ChatChannels (web/src/core/chat.ts) for the chat's red-team tests, without the rest of
// the session: each member's roster is a hand-kept map, the group keys are the test's, and the
// "server" is the test itself: nothing arrives unless it delivers it (drop, delay, reorder,
// replay). A member's forge() signs whatever a modified client could sign.
import { fromBase64url } from "../../web/src/core/base64url.js";
import { generateCallKeyPairs } from "../../web/src/core/call-keys.js";
import { ChatChannel, type ChatEntry } from "../../web/src/core/chat.js";
import { type ChatBody, type ChatHeader, sealChat } from "../../web/src/core/chat-message.js";
import { createSessionCounters } from "../../web/src/core/session-counters.js";
import type { VerifiedRoster } from "../../web/src/core/verified-roster.js";
import { seededRandom } from "./sim/seeded-random.js";
import { VirtualClock } from "./sim/virtual-clock.js";

export const ROOM = "roomroomroomroomroom00";

interface FakePeer {
  announcement: { ed25519PublicKey: Uint8Array; displayName: string };
  proven: boolean;
  expired: boolean;
  unusable: boolean;
}

/** A call of ChatChannels; `deliver` is the server: nothing arrives unless the test sends it. */
export class Bench {
  /** A wall-clock date: the chat's Lamport times may follow the wall clock. */
  readonly clock = new VirtualClock(Date.UTC(2026, 6, 1));
  readonly random = seededRandom("chat-redteam");
  /** Group keys every member holds, by epoch (tests change a member's view with `keysOf`). */
  readonly keys = new Map<number, Uint8Array>([[1, this.random(32)]]);
  readonly members = new Map<string, Member>();

  add(id: string, displayName = id, sending = 1): Member {
    const member = new Member(this, id, displayName, sending);
    this.members.set(id, member);
    for (const other of this.members.values()) other.channel.rosterChanged();
    return member;
  }
}

export class Member {
  readonly keyPairs;
  readonly counters = createSessionCounters();
  /** Every payload this member broadcast, in order (the server decides who gets what). */
  readonly sent: Uint8Array[] = [];
  readonly peers = new Map<string, FakePeer>();
  readonly installed = new Map<number, Uint8Array>();
  readonly channel: ChatChannel;
  hands: readonly string[] = [];
  broadcastWorks = true;

  constructor(
    readonly bench: Bench,
    readonly id: string,
    readonly displayName: string,
    public sending: number,
  ) {
    this.keyPairs = generateCallKeyPairs(bench.random);
    for (const [epoch, key] of bench.keys) this.installed.set(epoch, key);
    const roster = {
      announcedPeer: (pid: string) => {
        const peer = this.peers.get(pid);
        return peer && !peer.expired ? peer : undefined;
      },
      verifiedPeer: (pid: string) => {
        const peer = this.peers.get(pid);
        return peer?.proven ? peer : undefined;
      },
      entries: () =>
        [...this.peers]
          .filter(([, p]) => p.proven)
          .map(([participantId]) => ({ participantId }))
          .concat([{ participantId: id }]),
    } as unknown as VerifiedRoster;
    this.channel = new ChatChannel({
      parties: { roomId: ROOM, senderId: id },
      displayName,
      clock: bench.clock,
      random: bench.random,
      own: { keyPairs: this.keyPairs, announcement: new Uint8Array() },
      counters: this.counters,
      roster,
      groupKey: (epoch) => this.installed.get(epoch),
      installedEpochs: () => [...this.installed.keys()],
      sendingEpoch: () => this.sending,
      broadcast: (payload) => {
        if (!this.broadcastWorks) return false;
        this.sent.push(fromBase64url(payload));
        return true;
      },
      changed: {
        log: () => {},
        reaction: () => {},
        hands: (raised) => {
          this.hands = raised;
        },
      },
    });
    this.channel.keysChanged();
  }

  /** This member verifies `other` (its announcement and a hello arrived). */
  knows(other: Member, proven = true): void {
    this.peers.set(other.id, {
      announcement: {
        ed25519PublicKey: other.keyPairs.ed25519.publicKey,
        displayName: other.displayName,
      },
      proven,
      expired: false,
      unusable: false,
    });
    this.channel.rosterChanged();
  }

  forget(other: Member): void {
    this.peers.delete(other.id);
    this.channel.rosterChanged();
  }

  /** The server hands `bytes` to this member as `from`'s broadcast. */
  receive(from: Member | string, bytes: Uint8Array | undefined): void {
    if (!bytes) throw new Error("nothing to deliver");
    this.channel.receive(typeof from === "string" ? from : from.id, bytes);
  }

  /** Signs anything a member with this signing key can sign (a modified client). */
  forge(header: ChatHeader, body: ChatBody, groupKey = this.bench.keys.get(1)): Uint8Array {
    if (!groupKey) throw new Error("no key");
    return sealChat(
      { roomId: ROOM, senderId: this.id },
      this.keyPairs.ed25519.secretKey,
      groupKey,
      header,
      body,
      this.bench.random,
    );
  }

  shown(): string[] {
    return this.channel
      .log()
      .filter((e) => e.state === "shown")
      .map((e) => `${e.displayName}: ${e.text}`);
  }

  ids(): string[] {
    return this.channel.log().map((e: ChatEntry) => e.id);
  }
}

/** Everyone verifies everyone. */
export function mesh(...members: Member[]): void {
  for (const a of members) for (const b of members) if (a !== b) a.knows(b);
}

/** A call of the named members, everyone verifying everyone. */
export function meshed<const N extends readonly string[]>(
  ...names: N
): { bench: Bench; members: { [K in keyof N]: Member } } {
  const bench = new Bench();
  const members = names.map((name) => bench.add(name));
  mesh(...members);
  return { bench, members: members as { [K in keyof N]: Member } };
}

/** An honest server: every payload `from` sent since `index` reaches every other member, in order. */
export function relayAll(bench: Bench, from: Member, index = 0): void {
  for (const bytes of from.sent.slice(index)) {
    for (const to of bench.members.values()) if (to !== from) to.receive(from, bytes);
  }
}
