// The call's chat: text lines, reactions and raised hands (docs/chat.md). Every message is sealed
// under the sender's current sending epoch, so chat inherits the key schedule's rules: a joiner
// reads only what was sent after its first key, a leaver nothing sent after its lock-out, and no
// one sends while locked out (lines wait in the outbox until a key without the leaver arrives).
// Receivers show a message only from a verified member whose signature verifies, once, in one
// order every member computes alike (Lamport time, then sender id, then counter); a message for an
// epoch they do not hold is shown as "could not be decrypted", never dropped unseen.
import { toBase64url } from "./base64url.js";
import {
  CHAT_TEXT_MAX,
  type ChatBody,
  type ChatHeader,
  type ChatParties,
  openChat,
  type Reaction,
  type SignedChat,
  sealChat,
  verifyChat,
} from "./chat-message.js";
import { type ChatGap, ChatWindow, firstChatCounter } from "./chat-window.js";
import type { Clock, TimerHandle } from "./clock.js";
import type { OwnIncarnation, Peer } from "./peer.js";
import type { Random } from "./random.js";
import type { SessionCounters } from "./session-counters.js";
import type { VerifiedRoster } from "./verified-roster.js";

/** Entries the log keeps (the oldest go first). */
export const CHAT_LOG_MAX = 500;
/** Lines typed while this client has no key to send with, kept until it has one. */
export const CHAT_OUTBOX_MAX = 50;
/** How long a message waits for its epoch's key (or its sender's liveness proof). */
export const CHAT_HOLD_MS = 5_000;
const HELD_MAX = 256;
/** How long a gap in a sender's counters may take to fill (a held message settles by then). */
const GAP_WAIT_MS = CHAT_HOLD_MS + 1_000;
/**
 * Sender incarnations whose windows are kept, the least recently heard from let go first. They
 * outlive a leave or our own reconnect: a server replaying old lines afterwards still meets them.
 */
const WINDOWS_MAX = 256;
/** Held messages per sender: one member cannot fill the hold and crowd out everyone else's. */
const HELD_PER_SENDER = 32;
/**
 * A message may be at most this far (seconds) ahead of the receiver's wall clock; later ones are
 * refused. Honest clocks stay well inside it (see LAMPORT_PULL_MAX), so only a modified client or
 * a device clock an hour off meets it.
 */
const LAMPORT_AHEAD_MAX = 3_600;
/**
 * A message moves the receiver's Lamport clock to at most this far (seconds) ahead of its wall
 * clock. The message still sorts by its own time, the same on every member, but a member sending
 * times far ahead cannot drag everyone's clock along and push honest lines past the limit above.
 */
const LAMPORT_PULL_MAX = 60;
const LAMPORT_MAX = 0xffffffff;
/**
 * Lamport times never run behind the wall clock, in seconds since 2026-01-01 UTC (a u32 of them
 * lasts past the year 2150): a joiner, who saw nothing said before it came, still sorts its first
 * line after those lines rather than among them.
 */
const LAMPORT_EPOCH_MS = Date.UTC(2026, 0, 1);

export interface ChatEntry {
  /** `${sender id}/${counter}`: unique within the call. */
  readonly id: string;
  readonly from: string;
  /** The sender's verified display name when the message arrived. */
  readonly displayName: string;
  readonly self: boolean;
  readonly lamport: number;
  readonly counter: number;
  /** Clock time it was sent (own lines) or arrived. */
  readonly at: number;
  /**
   * shown: `text` is set; undecryptable: a verified member's message we hold no key for; queued:
   * ours, waiting for a key; missing: `missed` messages the sender's counters show it sent after
   * the one before this entry never arrived (a relay dropped them).
   */
  readonly state: "shown" | "undecryptable" | "queued" | "missing";
  readonly text?: string;
  readonly missed?: number;
}

export interface ReactionEvent {
  readonly from: string;
  readonly emoji: Reaction;
  readonly self: boolean;
  readonly at: number;
}

export interface ChatChannelOptions {
  readonly parties: ChatParties;
  readonly displayName: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly own: OwnIncarnation;
  readonly counters: SessionCounters;
  readonly roster: VerifiedRoster;
  /** The group key installed for `epoch`, if this client holds one. */
  readonly groupKey: (epoch: number) => Uint8Array | undefined;
  /** Every epoch installed now, for "is it from the future, or from the past?". */
  readonly installedEpochs: () => readonly number[];
  readonly sendingEpoch: () => number;
  readonly broadcast: (payload: string) => boolean;
  readonly changed: {
    readonly log: (entries: readonly ChatEntry[]) => void;
    readonly reaction: (reaction: ReactionEvent) => void;
    readonly hands: (raised: readonly string[]) => void;
    /** A member's display name arrived or changed (ask-to-join calls). */
    readonly names?: () => void;
  };
  /**
   * Ask-to-join calls (docs/admission.md, Names): announcements name nobody, so each member sends
   * its display name under the current key, again whenever the roster changed.
   */
  readonly sendsName?: boolean;
}

interface Held {
  readonly from: string;
  readonly message: SignedChat;
  readonly timer: TimerHandle;
}

interface Queued {
  readonly counter: number;
  readonly text: string;
}

export class ChatChannel {
  private entries: ChatEntry[] = [];
  private lamport = 0;
  /** Our last counter; the first is random, so ids stay unique across reloads of the page. */
  private counter: number;
  /** What each sender incarnation has had taken, by participant id and signing key. */
  private readonly windows = new Map<string, ChatWindow>();
  private readonly held = new Map<string, Held>();
  private readonly outbox: Queued[] = [];
  private readonly hands = new Set<string>();
  private handUp = false;
  /** Members have joined since our hand was last announced under a key they hold. */
  private handStale = false;
  /** Display names members sent (ask-to-join calls), by participant id. */
  private readonly names = new Map<string, string>();
  private nameStale = false;
  /** The verified roster our name was last sent for (ids), so it goes once per change. */
  private namedTo = "";
  /** The lowest epoch this client held a key for in this call: anything older predates its join. */
  private firstEpoch: number | undefined;

  constructor(private readonly options: ChatChannelOptions) {
    this.counter = firstChatCounter(options.random) - 1;
  }

  log(): readonly ChatEntry[] {
    return this.entries;
  }

  raisedHands(): readonly string[] {
    return [...this.hands].sort();
  }

  /** The display name a member sent under a key (ask-to-join calls); undefined until it has. */
  nameOf(participantId: string): string | undefined {
    return this.names.get(participantId);
  }

  /**
   * Sends a line. Without a key to send with (joining, or locked out until a key without a leaver
   * arrives) it is queued and sent under the next key; false when the outbox is full or the text
   * is empty or too long.
   */
  sendText(text: string): boolean {
    const trimmed = text.trim();
    if (trimmed.length === 0 || trimmed.length > CHAT_TEXT_MAX) return false;
    if (this.options.sendingEpoch() !== 0) this.flushOutbox();
    // Behind lines still waiting, a new one waits too: lines go out in the order they were typed.
    if (this.options.sendingEpoch() === 0 || this.outbox.length > 0) {
      if (this.outbox.length >= CHAT_OUTBOX_MAX) return false;
      const counter = this.nextCounter();
      this.outbox.push({ counter, text: trimmed });
      this.addEntry(this.ownEntry(counter, this.lamport, "queued", trimmed));
      return true;
    }
    const counter = this.nextCounter();
    const lamport = this.sealOrGiveBack(counter, { type: "text", text: trimmed });
    if (lamport === undefined) return false;
    this.addEntry(this.ownEntry(counter, lamport, "shown", trimmed));
    return true;
  }

  /** A reaction is of the moment: without a key to send with it is not sent (false). */
  react(emoji: Reaction): boolean {
    if (this.options.sendingEpoch() === 0) return false;
    // Not ahead of lines still queued: receivers would count those as dropped.
    this.flushOutbox();
    if (this.outbox.length > 0) return false;
    const counter = this.nextCounter();
    if (this.sealOrGiveBack(counter, { type: "reaction", emoji }) === undefined) return false;
    this.options.changed.reaction({
      from: this.options.parties.senderId,
      emoji,
      self: true,
      at: this.options.clock.now(),
    });
    return true;
  }

  /** Raises or lowers our hand; announced now, or as soon as there is a key to send with. */
  setHand(up: boolean): void {
    const self = this.options.parties.senderId;
    this.handUp = up;
    if (up) this.hands.add(self);
    else this.hands.delete(self);
    this.options.changed.hands(this.raisedHands());
    this.handStale = true;
    this.announceHand();
  }

  /** A broadcast payload in the chat format from `from` (as the server attributes it). */
  receive(from: string, bytes: Uint8Array): void {
    const { counters, roster, parties } = this.options;
    const peer = roster.announcedPeer(from);
    if (!peer) {
      counters.chat.rejected += 1;
      return;
    }
    let message: SignedChat;
    try {
      message = verifyChat(
        { roomId: parties.roomId, senderId: from },
        peer.announcement.ed25519PublicKey,
        bytes,
        counters.curveOps,
      );
    } catch {
      counters.chat.rejected += 1;
      return;
    }
    const id = `${from}/${message.counter}`;
    if (this.windowOf(from, peer).has(message.counter) || this.held.has(id)) {
      counters.chat.replayed += 1;
      return;
    }
    if (!this.lamportAcceptable(message.lamport)) {
      counters.chat.rejected += 1;
      return;
    }
    if (!peer.proven || this.isAhead(message.epoch)) {
      this.hold(id, from, message);
      return;
    }
    this.accept(id, from, message);
  }

  /** The installed keys changed: held messages may open now; note our first key. */
  keysChanged(): void {
    const epochs = this.options.installedEpochs();
    if (this.firstEpoch === undefined && epochs.length > 0) this.firstEpoch = Math.min(...epochs);
    this.retryHeld();
  }

  /** We switched sending epoch: flush the outbox, and announce a raised hand to new members. */
  sendingChanged(epoch: number): void {
    if (epoch === 0) return;
    this.flushOutbox();
    this.announceHand();
    this.announceName();
  }

  /**
   * Sends the queued lines in order. A line leaves the outbox only once it went out, so one the
   * relay refused now (a full send buffer) goes with the next send or switch.
   */
  private flushOutbox(): void {
    while (this.outbox.length > 0) {
      const queued = this.outbox[0] as Queued;
      const lamport = this.seal(queued.counter, { type: "text", text: queued.text });
      if (lamport === undefined) break;
      this.outbox.shift();
      this.replaceEntry(this.ownEntry(queued.counter, lamport, "shown", queued.text));
    }
  }

  /** The verified roster changed: retry held messages; forget hands of members who are gone. */
  rosterChanged(): void {
    const { roster, parties } = this.options;
    const verified = new Set(roster.entries(undefined).map((entry) => entry.participantId));
    let handsChanged = false;
    for (const id of [...this.hands]) {
      if (id !== parties.senderId && !verified.has(id)) {
        this.hands.delete(id);
        handsChanged = true;
      }
    }
    if (handsChanged) this.options.changed.hands(this.raisedHands());
    if (this.handUp && verified.size > 1) this.handStale = true;
    for (const id of [...this.names.keys()]) if (!verified.has(id)) this.names.delete(id);
    const members = [...verified].sort().join(" ");
    if (this.options.sendsName && members !== this.namedTo) {
      this.namedTo = members;
      if (verified.size > 1) {
        // Now, under the key we send with (the leader's is already the joiner's), and again at our
        // next switch (a member that has not read the leader's ratchet yet sends under an older key).
        this.nameStale = true;
        this.announceName();
        this.nameStale = true;
      }
    }
    this.retryHeld();
  }

  /** The connection is gone: what others said is kept; their hands and held messages are not. */
  lost(): void {
    for (const held of this.held.values()) this.options.clock.clearTimeout(held.timer);
    this.held.clear();
    const self = this.options.parties.senderId;
    if ([...this.hands].some((id) => id !== self)) {
      for (const id of [...this.hands]) if (id !== self) this.hands.delete(id);
      this.options.changed.hands(this.raisedHands());
    }
    this.handStale = this.handUp;
    this.names.clear();
    this.namedTo = "";
  }

  // ---- internals ----

  private nextCounter(): number {
    this.counter += 1;
    return this.counter;
  }

  /** Seals and broadcasts under the current sending epoch; the message's Lamport time, or undefined. */
  private seal(counter: number, body: ChatBody): number | undefined {
    const { parties, own, random, counters } = this.options;
    const epoch = this.options.sendingEpoch();
    const groupKey = epoch === 0 ? undefined : this.options.groupKey(epoch);
    if (!groupKey) return undefined;
    const lamport = Math.min(Math.max(this.lamport + 1, this.wallTime()), LAMPORT_MAX);
    const header: ChatHeader = { epoch, lamport, counter };
    const bytes = sealChat(
      parties,
      own.keyPairs.ed25519.secretKey,
      groupKey,
      header,
      body,
      random,
      counters.curveOps,
    );
    if (!this.options.broadcast(toBase64url(bytes))) return undefined;
    this.lamport = lamport;
    counters.chat.sent += 1;
    return lamport;
  }

  /**
   * Seals a new message under `counter`, just taken. If it could not go out, the counter is given
   * back: receivers would otherwise count a message that never left as one a relay dropped.
   */
  private sealOrGiveBack(counter: number, body: ChatBody): number | undefined {
    const lamport = this.seal(counter, body);
    if (lamport === undefined && counter === this.counter) this.counter -= 1;
    return lamport;
  }

  private announceHand(): void {
    if (!this.handStale || this.options.sendingEpoch() === 0) return;
    this.flushOutbox();
    if (this.outbox.length > 0) return;
    const counter = this.nextCounter();
    if (this.sealOrGiveBack(counter, { type: "hand", up: this.handUp }) !== undefined) {
      this.handStale = false;
    }
  }

  private announceName(): void {
    if (!this.nameStale || this.options.sendingEpoch() === 0) return;
    this.flushOutbox();
    if (this.outbox.length > 0) return;
    const counter = this.nextCounter();
    if (
      this.sealOrGiveBack(counter, { type: "name", name: this.options.displayName }) !== undefined
    )
      this.nameStale = false;
  }

  /** Not so far ahead of our wall clock that it could only come from a modified client. */
  private lamportAcceptable(lamport: number): boolean {
    return lamport <= this.wallTime() + LAMPORT_AHEAD_MAX;
  }

  /** The wall clock in Lamport units: whole seconds since LAMPORT_EPOCH_MS. */
  private wallTime(): number {
    return Math.max(0, Math.floor((this.options.clock.now() - LAMPORT_EPOCH_MS) / 1000));
  }

  /** True when `epoch` is above every key we hold: its key may still be on its way. */
  private isAhead(epoch: number): boolean {
    if (this.options.groupKey(epoch)) return false;
    const epochs = this.options.installedEpochs();
    return epochs.length === 0 || epoch > Math.max(...epochs);
  }

  /**
   * Waits for the message's key or its sender's proof. When the sender already has its share
   * waiting, or the hold is full, the oldest waiting message (the sender's own first) settles now:
   * shown, or as could-not-be-decrypted, never dropped unseen to make room.
   */
  private hold(id: string, from: string, message: SignedChat): void {
    const waiting = [...this.held].filter(([, held]) => held.from === from);
    const oldest =
      waiting.length >= HELD_PER_SENDER
        ? waiting[0]
        : this.held.size >= HELD_MAX
          ? [...this.held][0]
          : undefined;
    if (oldest) {
      const [oldestId, held] = oldest;
      this.release(oldestId, held);
      this.settle(oldestId, held.from, held.message);
    }
    const timer = this.options.clock.setTimeout(() => {
      this.held.delete(id);
      this.settle(id, from, message);
    }, CHAT_HOLD_MS);
    this.held.set(id, { from, message, timer });
  }

  /** Processes the held messages that can be processed now. */
  private retryHeld(): void {
    for (const [id, held] of [...this.held]) {
      const peer = this.options.roster.announcedPeer(held.from);
      if (!peer) {
        this.release(id, held);
        this.options.counters.chat.rejected += 1;
        continue;
      }
      if (peer.proven && !this.isAhead(held.message.epoch)) {
        this.release(id, held);
        this.settle(id, held.from, held.message);
      }
    }
  }

  private release(id: string, held: Held): void {
    this.options.clock.clearTimeout(held.timer);
    this.held.delete(id);
  }

  /** A held message's wait is over: shown if its sender is verified by now, refused if not. */
  private settle(id: string, from: string, message: SignedChat): void {
    if (!this.options.roster.verifiedPeer(from)) {
      this.options.counters.chat.rejected += 1;
      return;
    }
    this.accept(id, from, message);
  }

  /** A verified member's message, signature checked, not seen before. */
  private accept(id: string, from: string, message: SignedChat): void {
    const { counters, roster, parties } = this.options;
    const peer = roster.verifiedPeer(from);
    if (!peer) return;
    // Already in the log (its window was let go of): shown once all the same.
    if (this.entries.some((entry) => entry.id === id)) {
      counters.chat.replayed += 1;
      return;
    }
    const groupKey = this.options.groupKey(message.epoch);
    if (!groupKey && this.firstEpoch !== undefined && message.epoch < this.firstEpoch) {
      counters.chat.beforeJoin += 1;
      return;
    }
    const window = this.windowOf(from, peer);
    const gap = window.add(message.counter);
    if (gap) this.watchGap(window, from, peer, gap, message);
    this.lamport = Math.max(
      this.lamport,
      Math.min(message.lamport, this.wallTime() + LAMPORT_PULL_MAX),
    );
    const base = {
      id,
      from,
      displayName: this.names.get(from) ?? peer.announcement.displayName,
      self: false,
      lamport: message.lamport,
      counter: message.counter,
      at: this.options.clock.now(),
    };
    let body: ChatBody | undefined;
    if (groupKey) {
      try {
        body = openChat({ roomId: parties.roomId, senderId: from }, groupKey, message);
      } catch {
        body = undefined;
      }
    }
    if (!body) {
      counters.chat.undecryptable += 1;
      this.addEntry({ ...base, state: "undecryptable" });
      return;
    }
    counters.chat.received += 1;
    switch (body.type) {
      case "text":
        this.addEntry({ ...base, state: "shown", text: body.text });
        return;
      case "reaction":
        this.options.changed.reaction({ from, emoji: body.emoji, self: false, at: base.at });
        return;
      case "hand": {
        // The relay may reorder: a hand lowered after it was raised must not go up again.
        const window = this.windowOf(from, peer);
        if (message.counter < window.handCounter) return;
        window.handCounter = message.counter;
        const before = this.hands.has(from);
        if (body.up) this.hands.add(from);
        else this.hands.delete(from);
        if (before !== body.up) this.options.changed.hands(this.raisedHands());
        return;
      }
      case "name": {
        const window = this.windowOf(from, peer);
        if (!this.options.sendsName || message.counter < window.nameCounter) return;
        window.nameCounter = message.counter;
        if (this.names.get(from) === body.name) return;
        this.names.set(from, body.name);
        this.options.changed.names?.();
        return;
      }
    }
  }

  /**
   * `message` skipped counters of its sender: unless they arrive in time (reordered, or held for
   * a key), the log says how many messages never came, in the place they would have been. A
   * sender's gaps while one wait is running join that wait's range.
   */
  private watchGap(
    window: ChatWindow,
    from: string,
    peer: Peer,
    gap: ChatGap,
    message: SignedChat,
  ): void {
    const pending = window.pendingGap;
    if (pending) {
      window.pendingGap = {
        gap: {
          after: Math.min(pending.gap.after, gap.after),
          before: Math.max(pending.gap.before, gap.before),
        },
        lamport: Math.max(pending.lamport, message.lamport),
      };
      return;
    }
    window.pendingGap = { gap, lamport: message.lamport };
    this.options.clock.setTimeout(() => {
      const waited = window.pendingGap;
      window.pendingGap = undefined;
      if (!waited) return;
      const missed = window.untaken(waited.gap);
      if (missed <= 0) return;
      this.options.counters.chat.missing += missed;
      this.addEntry({
        id: `${from}/missing/${waited.gap.after}-${waited.gap.before}`,
        from,
        displayName: peer.announcement.displayName,
        self: false,
        lamport: waited.lamport,
        counter: waited.gap.before - 1,
        at: this.options.clock.now(),
        state: "missing",
        missed,
      });
    }, GAP_WAIT_MS);
  }

  /** The window of `from`'s incarnation `peer` (by its signing key), newest heard last. */
  private windowOf(from: string, peer: Peer): ChatWindow {
    const key = `${from}/${toBase64url(peer.announcement.ed25519PublicKey)}`;
    const window = this.windows.get(key) ?? new ChatWindow();
    this.windows.delete(key);
    this.windows.set(key, window);
    if (this.windows.size > WINDOWS_MAX) {
      this.windows.delete(this.windows.keys().next().value as string);
    }
    return window;
  }

  private ownEntry(
    counter: number,
    lamport: number,
    state: ChatEntry["state"],
    text: string,
  ): ChatEntry {
    const { parties, displayName, clock } = this.options;
    return {
      id: `${parties.senderId}/${counter}`,
      from: parties.senderId,
      displayName,
      self: true,
      lamport,
      counter,
      at: clock.now(),
      state,
      text,
    };
  }

  /**
   * Adds an entry in its place in the order. A full log lets go of the entry that arrived first,
   * never the one arriving: a line that sorts low (its sender's clock is behind) is still seen.
   */
  private addEntry(entry: ChatEntry): void {
    const next = [...this.entries, entry].sort(compareEntries);
    while (next.length > CHAT_LOG_MAX) {
      let first = next[0] === entry ? 1 : 0;
      next.forEach((candidate, index) => {
        if (candidate !== entry && candidate.at < (next[first] as ChatEntry).at) first = index;
      });
      next.splice(first, 1);
    }
    this.entries = next;
    this.options.changed.log(this.entries);
  }

  private replaceEntry(entry: ChatEntry): void {
    this.entries = this.entries.filter((e) => e.id !== entry.id);
    this.addEntry(entry);
  }
}

/** The one order every member computes: Lamport time, then sender id, then the sender's counter. */
export function compareEntries(a: ChatEntry, b: ChatEntry): number {
  if (a.state === "queued" || b.state === "queued") {
    if (a.state !== b.state) return a.state === "queued" ? 1 : -1;
  }
  if (a.lamport !== b.lamport) return a.lamport - b.lamport;
  if (a.from !== b.from) return a.from < b.from ? -1 : 1;
  return a.counter - b.counter;
}
