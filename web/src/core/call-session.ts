// The one object a client (browser tab, Node load generator, test) holds per call: it composes the
// signalling client, announcements, envelopes, signed broadcasts and the key schedule, and exposes
// plain observable state. All crypto stays inside; the media layer asks for sender keys by epoch.
import { sha256 } from "@noble/hashes/sha2.js";
import type { LiveKitGrant, Member } from "../../../protocol/signalling.js";
import { type Announcement, createAnnouncement, verifyAnnouncement } from "./announcement.js";
import { assertNever } from "../../../protocol/guards.js";
import { fromBase64url, toBase64url } from "./base64url.js";
import { type BroadcastKind, signBroadcast, verifyBroadcast } from "./broadcast.js";
import {
  type CallContext,
  type CallKeyPairs,
  callContextOf,
  generateCallKeyPairs,
} from "./call-keys.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import { Emitter, type Unsubscribe } from "./emitter.js";
import { EnvelopeChannel } from "./envelope.js";
import { type CallSecret, participantIdOf, senderKeyOf } from "./identifiers.js";
import { decodeKeyMessage, encodeKeyMessage, type KeyMessageBody } from "./key-messages.js";
import { KeySchedule } from "./key-schedule.js";
import { checkHello, isHello, makeHello } from "./liveness.js";
import { type Random, systemRandom } from "./random.js";
import {
  DEFAULT_SCHEDULE_CONFIG,
  type ScheduleAction,
  type ScheduleConfig,
  type ScheduleEvent,
} from "./schedule-types.js";
import { securityCodeOf } from "./security-code.js";
import type {
  CallSessionEvents,
  CallSessionState,
  ConnectionState,
  EnvelopeKind,
  RosterEntry,
  SendingState,
  SessionMetrics,
} from "./session-types.js";
import {
  DEFAULT_RECONNECT_POLICY,
  type ReconnectPolicy,
  SignallingClient,
  type SocketConstructor,
} from "./signalling-client.js";

export interface CallSessionOptions {
  readonly secret: CallSecret;
  readonly userId: string;
  readonly deviceId: string;
  readonly displayName: string;
  /** http(s) origin of the Worker; the room URL is {origin}/v1/rooms/{roomId}/ws over ws(s). */
  readonly workerOrigin?: string;
  /** Overrides workerOrigin: builds the WebSocket URL for a room id. */
  readonly socketUrl?: (roomId: string) => string;
  /** The browser's WebSocket, or `ws` in Node. */
  readonly WebSocket: SocketConstructor;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly schedule?: Partial<ScheduleConfig>;
  readonly reconnect?: Partial<ReconnectPolicy>;
}

/** One incarnation of a peer as the room announced it: verified once it proves it is live. */
interface Peer {
  readonly seq: number;
  readonly announcementBytes: Uint8Array;
  readonly announcement: Announcement;
  readonly channel: EnvelopeChannel;
  proven: boolean;
  /** It did not prove itself in time: shown as unverified, no longer holding back leadership. */
  expired: boolean;
  /** Hellos we sent asking for an answer (we drive the exchange when it joined after us). */
  asked: number;
  /** When we last answered its request: at most one answer per HELLO_ANSWER_SPACING_MS. */
  answeredAt: number;
  retryTimer: TimerHandle | undefined;
  deadlineTimer: TimerHandle | undefined;
}

/**
 * What this session has seen of an announcement, for its whole life (docs/key-schedule.md,
 * Announcements).
 */
interface SeenAnnouncement {
  readonly participantId: string;
  readonly seq: number;
  left: boolean;
}

/**
 * Liveness proof timing. A peer that has not proven itself this long after it was announced is
 * shown as unverified and stops holding back leadership; a valid hello still verifies it later
 * (no recording can produce one), so a peer whose hellos a server dropped for a while recovers.
 */
const LIVENESS_TIMEOUT_MS = 5_000;
/**
 * We ask a joiner again after 1 s, then back off (doubling) to one ask every 8 s for as long as it is
 * in the room: a lost hello is retried quickly, while a call where many joiners are slow to answer
 * (a big call filling up) is not flooded with asks that only make everyone slower.
 */
const HELLO_FIRST_RETRY_MS = 1_000;
const HELLO_MAX_RETRY_MS = 8_000;
/** Answers are rate-limited per peer, so replayed requests cannot make us chatty. */
const HELLO_ANSWER_SPACING_MS = 500;

/** Builds the room WebSocket URL from a Worker origin such as "https://hush.example". */
export function roomSocketUrl(workerOrigin: string, roomId: string): string {
  const url = new URL(workerOrigin);
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  url.pathname = `/v1/rooms/${roomId}/ws`;
  url.search = "";
  url.hash = "";
  return url.toString();
}

function envelopeKindOf(message: KeyMessageBody): EnvelopeKind {
  switch (message.type) {
    case "key":
      return message.kind === "fresh"
        ? "key-fresh"
        : message.kind === "ratchet-join"
          ? "key-ratchet-join"
          : "key-current";
    case "ack":
      return "ack";
    case "key-request":
      return "key-request";
    default:
      return assertNever(message);
  }
}

export class CallSession {
  readonly roomId: string;
  readonly participantId: string;
  private readonly context: CallContext;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly schedule: KeySchedule;
  private readonly signalling: SignallingClient;
  private readonly emitter = new Emitter<CallSessionEvents>();
  private keyPairs: CallKeyPairs;
  /** Our announcement on the current connection, exactly as sent (hellos bind it). */
  private ownAnnouncement: Uint8Array = new Uint8Array();
  private selfSeq: number | undefined;
  /** Announced peers of this membership, proven or still proving their liveness. */
  private readonly members = new Map<string, Peer>();
  private readonly unverified = new Map<string, number>();
  /** Ids the room showed twice at once (a second incarnation while the first was live). */
  private readonly conflicts = new Set<string>();
  /** Every announcement admitted in this session, by its SHA-256: a replay is refused. */
  private readonly seenAnnouncements = new Map<string, SeenAnnouncement>();
  private connection: ConnectionState = { status: "idle" };
  private grant: LiveKitGrant | undefined;
  private sending: SendingState = { epoch: 0, at: 0 };
  /**
   * Group keys by epoch. Nothing shipped hands one out (the media layer gets sender keys); tests
   * that compare key state across clients read this field through test/support/session-keys.ts.
   */
  private readonly installed = new Map<number, Uint8Array>();
  private securityCode = "";
  /** The verified roster (ids and seqs) the security code was last computed over. */
  private securityCodeRoster: string | undefined;
  /** Hellos made in this turn of the event loop, sent together (sendHello). */
  private readonly helloOutbox: { to: string; payload: string }[] = [];
  private helloFlushTimer: TimerHandle | undefined;
  private wakeTimer: TimerHandle | undefined;
  private joinWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private tokenWaiters: { resolve: (grant: LiveKitGrant) => void; reject: (e: Error) => void }[] =
    [];
  private readonly counters = {
    envelopesSent: {
      "key-fresh": 0,
      "key-ratchet-join": 0,
      "key-current": 0,
      ack: 0,
      "key-request": 0,
    },
    broadcastsSent: { ratchet: 0, commit: 0 },
    envelopesRejected: 0,
    broadcastsRejected: 0,
    announcementsRejected: 0,
    announcementsReplayed: 0,
    hellosSent: 0,
    hellosRejected: 0,
    livenessTimeouts: 0,
    welcomesRefused: 0,
    scheduleErrors: 0,
  };

  constructor(private readonly options: CallSessionOptions) {
    this.context = callContextOf(options.secret);
    this.roomId = this.context.roomId;
    this.participantId = participantIdOf(options.secret, options.userId, options.deviceId);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.keyPairs = generateCallKeyPairs(this.random);
    // Fail early (and clearly) on a display name the announcement cannot carry.
    createAnnouncement(
      this.context,
      this.participantId,
      this.keyPairs,
      options.displayName,
      this.random,
    );
    this.schedule = new KeySchedule(
      { ...DEFAULT_SCHEDULE_CONFIG, ...options.schedule },
      this.random,
    );
    const url = options.socketUrl
      ? options.socketUrl(this.roomId)
      : options.workerOrigin
        ? roomSocketUrl(options.workerOrigin, this.roomId)
        : undefined;
    if (url === undefined) throw new Error("CallSession needs workerOrigin or socketUrl");
    this.signalling = new SignallingClient(
      url,
      options.WebSocket,
      this.clock,
      {
        joinRequest: () => this.joinRequest(),
        welcome: (welcome) =>
          this.onWelcome(
            welcome.self.participantId,
            welcome.self.seq,
            welcome.members,
            welcome.livekit,
          ),
        memberJoined: (member) => this.onMemberJoined(member),
        memberLeft: (participantId, seq) => this.onMemberLeft(participantId, seq),
        message: (from, payload) => this.onEnvelope(from, payload),
        broadcast: (from, payload) => this.onBroadcast(from, payload),
        token: (grant) => this.onGrant(grant),
        serverError: () => {},
        status: (status, error) => this.onStatus({ status, ...(error ? { error } : {}) }),
        lost: () => this.onLost(),
      },
      { ...DEFAULT_RECONNECT_POLICY, ...options.reconnect },
    );
  }

  // ---- public API ----

  /** Connects and resolves once admitted (rejects if the room refuses for good). */
  join(): Promise<void> {
    if (this.connection.status === "joined") return Promise.resolve();
    if (this.connection.status === "closed") {
      return Promise.reject(new Error("this session is closed; create a new one"));
    }
    const joined = new Promise<void>((resolve, reject) => {
      this.joinWaiters.push({ resolve, reject });
    });
    this.signalling.connect();
    return joined;
  }

  leave(): void {
    this.signalling.leave();
  }

  /** Asks the Worker for a fresh LiveKit token (the welcome carries the first one). */
  requestToken(): Promise<LiveKitGrant> {
    if (!this.signalling.requestToken()) return Promise.reject(new Error("not joined"));
    return new Promise((resolve, reject) => this.tokenWaiters.push({ resolve, reject }));
  }

  on<K extends keyof CallSessionEvents>(
    event: K,
    listener: (value: CallSessionEvents[K]) => void,
  ): Unsubscribe {
    return this.emitter.on(event, listener);
  }

  snapshot(): CallSessionState {
    return {
      roomId: this.roomId,
      participantId: this.participantId,
      connection: this.connection,
      roster: this.roster(),
      unverified: this.unverifiedIds(),
      pending: this.pendingIds(),
      conflicts: [...this.conflicts],
      grant: this.grant,
      sending: this.sending,
      keys: [...this.installed.keys()].sort((a, b) => a - b),
      securityCode: this.securityCode,
    };
  }

  /** K_{e,P} for an installed epoch, or undefined when this client holds no key for `epoch`. */
  senderKey(epoch: number, participantId: string): Uint8Array | undefined {
    const groupKey = this.installed.get(epoch);
    return groupKey ? senderKeyOf(groupKey, participantId) : undefined;
  }

  /** True when `participantId` is on the verified roster (LiveKit identities not on it are ghosts). */
  isVerified(participantId: string): boolean {
    return participantId === this.participantId
      ? this.selfSeq !== undefined
      : this.members.get(participantId)?.proven === true;
  }

  /** The media layer saw decrypt failures for over a second: ask the leader for the current key. */
  reportDecryptFailures(): void {
    this.feed({ type: "decrypt-failures" });
  }

  metrics(): SessionMetrics {
    return structuredClone(this.counters);
  }

  /** Simulates a network failure (tests): the session reconnects on its own. */
  dropConnection(): void {
    this.signalling.dropSocket();
  }

  // ---- signalling events ----

  private joinRequest(): { participantId: string; announcement: string } {
    // Every connection is a new membership: fresh key pairs, so nothing from the old one carries over.
    this.keyPairs = generateCallKeyPairs(this.random);
    const announcement = createAnnouncement(
      this.context,
      this.participantId,
      this.keyPairs,
      this.options.displayName,
      this.random,
    );
    this.ownAnnouncement = announcement;
    return { participantId: this.participantId, announcement: toBase64url(announcement) };
  }

  private onWelcome(
    selfId: string,
    seq: number,
    members: readonly Member[],
    grant: LiveKitGrant,
  ): boolean {
    // A welcome for someone else, or one that lists us among the others, is a lie: refuse it whole.
    if (selfId !== this.participantId || members.some((m) => m.participantId === selfId)) {
      this.counters.welcomesRefused += 1;
      return false;
    }
    this.selfSeq = seq;
    this.clearPeers();
    this.unverified.clear();
    this.conflicts.clear();
    // Everyone already here proves its liveness by answering our announcement when the room tells
    // it we joined; until then they are pending.
    for (const member of members) this.admit(member);
    this.grant = grant;
    this.emitter.emit("grant", grant);
    this.feed({
      type: "joined",
      self: { participantId: this.participantId, seq },
      members: [],
      pending: [...this.members].map(([participantId, m]) => ({ participantId, seq: m.seq })),
    });
    this.rosterChanged();
    for (const waiter of this.joinWaiters.splice(0)) waiter.resolve();
    return true;
  }

  private onMemberJoined(member: Member): void {
    if (this.selfSeq === undefined || member.participantId === this.participantId) return;
    const known = this.members.get(member.participantId);
    // A repeated notice must not reset the member's envelope channel (and with it replay protection).
    if (known?.seq === member.seq) return;
    // Seqs only grow within a room life (docs/protocol.md), so a real joiner is younger than every
    // verified member and us: an older "joiner" is a lie, for example a recording pushed in to
    // become everyone's key leader.
    if (member.seq <= this.youngestVerifiedSeq()) {
      this.counters.announcementsRejected += 1;
      this.unverified.set(member.participantId, member.seq);
      this.rosterChanged();
      return;
    }
    if (known) {
      // Two incarnations of one id at once: the honest room refuses that, so this is a conflict the
      // UI flags. The old one is treated as gone (keys move on without it); the new one must prove
      // itself like any joiner. Never two senders sharing one sender key.
      this.conflicts.add(member.participantId);
      this.removePeer(member.participantId);
    }
    this.unverified.delete(member.participantId);
    const peer = this.admit(member);
    if (peer) {
      this.feed({
        type: "member-pending",
        member: { participantId: member.participantId, seq: member.seq },
      });
      this.askHello(member.participantId, peer);
    }
    this.rosterChanged();
  }

  private onMemberLeft(participantId: string, seq: number): void {
    if (this.selfSeq === undefined || participantId === this.participantId) return;
    const peer = this.members.get(participantId);
    const known = peer !== undefined && peer.seq === seq;
    if (known) this.removePeer(participantId);
    // Even an incarnation we never saw may hold our chain (a leader it was shown to gave it one).
    else this.feed({ type: "member-left", participantId, seq });
    const ghost =
      this.unverified.get(participantId) === seq && this.unverified.delete(participantId);
    if (known || ghost) this.rosterChanged();
  }

  /** Drops a peer incarnation for good: it can never come back with the same announcement. */
  private removePeer(participantId: string): void {
    const peer = this.members.get(participantId);
    if (!peer) return;
    this.members.delete(participantId);
    this.clearPeerTimers(peer);
    const seen = this.seenAnnouncements.get(announcementDigest(peer.announcementBytes));
    if (seen) seen.left = true;
    this.feed({ type: "member-left", participantId, seq: peer.seq });
  }

  private clearPeers(): void {
    for (const peer of this.members.values()) this.clearPeerTimers(peer);
    this.members.clear();
    // Queued hellos bind the announcement of a connection that is gone.
    this.helloOutbox.length = 0;
  }

  private clearPeerTimers(peer: Peer): void {
    if (peer.retryTimer !== undefined) this.clock.clearTimeout(peer.retryTimer);
    if (peer.deadlineTimer !== undefined) this.clock.clearTimeout(peer.deadlineTimer);
    peer.retryTimer = undefined;
    peer.deadlineTimer = undefined;
  }

  /**
   * Checks a member's announcement (MAC, embedded id, never seen for another incarnation) and
   * admits it as pending; only a peer that then proves its liveness gets envelopes or keys.
   */
  private admit(member: Member): Peer | undefined {
    let announcementBytes: Uint8Array;
    let announcement: Announcement;
    try {
      announcementBytes = fromBase64url(member.announcement);
      announcement = verifyAnnouncement(this.context, member.participantId, announcementBytes);
    } catch {
      this.counters.announcementsRejected += 1;
      this.unverified.set(member.participantId, member.seq);
      return undefined;
    }
    const digest = announcementDigest(announcementBytes);
    const seen = this.seenAnnouncements.get(digest);
    if (
      seen &&
      (seen.left || seen.participantId !== member.participantId || seen.seq !== member.seq)
    ) {
      // A recording of a member that left, or of another incarnation: never verified again.
      this.counters.announcementsReplayed += 1;
      this.unverified.set(member.participantId, member.seq);
      return undefined;
    }
    if (!seen) {
      this.seenAnnouncements.set(digest, {
        participantId: member.participantId,
        seq: member.seq,
        left: false,
      });
    }
    const channel = new EnvelopeChannel(
      this.roomId,
      this.participantId,
      this.keyPairs.x25519.secretKey,
      member.participantId,
      announcement.x25519PublicKey,
    );
    const peer: Peer = {
      seq: member.seq,
      announcementBytes,
      announcement,
      channel,
      proven: false,
      expired: false,
      asked: 0,
      answeredAt: Number.NEGATIVE_INFINITY,
      retryTimer: undefined,
      deadlineTimer: undefined,
    };
    peer.deadlineTimer = this.clock.setTimeout(() => {
      peer.deadlineTimer = undefined;
      if (this.members.get(member.participantId) !== peer || peer.proven) return;
      // No live proof in time: a recording, or a peer the server cut off. Unverified until a valid
      // hello arrives, which only the live holder of the announced keys can make.
      this.counters.livenessTimeouts += 1;
      peer.expired = true;
      this.feed({ type: "member-expired", participantId: member.participantId });
      this.rosterChanged();
    }, LIVENESS_TIMEOUT_MS);
    this.members.set(member.participantId, peer);
    return peer;
  }

  // ---- liveness proof (liveness.ts) ----

  private helloParties(peerId: string, peer: Peer, fromPeer: boolean) {
    return fromPeer
      ? {
          roomId: this.roomId,
          from: peerId,
          to: this.participantId,
          fromAnnouncement: peer.announcementBytes,
          toAnnouncement: this.ownAnnouncement,
        }
      : {
          roomId: this.roomId,
          from: this.participantId,
          to: peerId,
          fromAnnouncement: this.ownAnnouncement,
          toAnnouncement: peer.announcementBytes,
        };
  }

  /**
   * Queues a hello; every hello made in this turn of the event loop goes out in one frame (a joiner
   * answers everyone present at once, and one frame is far cheaper for the room than a hundred).
   */
  private sendHello(peerId: string, peer: Peer, answerMe: boolean): void {
    const hello = makeHello(this.helloParties(peerId, peer, false), peer.channel.helloSendKey, {
      answerMe,
    });
    this.helloOutbox.push({ to: peerId, payload: toBase64url(hello) });
    this.helloFlushTimer ??= this.clock.setTimeout(() => {
      this.helloFlushTimer = undefined;
      this.flushHellos();
    }, 0);
  }

  private flushHellos(): void {
    const hellos = this.helloOutbox.splice(0);
    if (hellos.length > 0 && this.signalling.send(hellos))
      this.counters.hellosSent += hellos.length;
  }

  /** It joined after us: ask it to prove itself, again and again while it has not (hellos get lost). */
  private askHello(peerId: string, peer: Peer): void {
    if (peer.proven || this.members.get(peerId) !== peer) return;
    peer.asked += 1;
    this.sendHello(peerId, peer, true);
    const delay = Math.min(HELLO_MAX_RETRY_MS, HELLO_FIRST_RETRY_MS * 2 ** (peer.asked - 1));
    peer.retryTimer = this.clock.setTimeout(() => {
      peer.retryTimer = undefined;
      this.askHello(peerId, peer);
    }, delay);
  }

  private onHello(from: string, bytes: Uint8Array): void {
    const peer = this.members.get(from);
    let answerMe: boolean;
    try {
      if (!peer) throw new Error("hello from a participant the room did not announce");
      answerMe = checkHello(
        this.helloParties(from, peer, true),
        peer.channel.helloReceiveKey,
        bytes,
      ).answerMe;
    } catch {
      this.counters.hellosRejected += 1;
      return;
    }
    const now = this.clock.now();
    if (answerMe && now - peer.answeredAt >= HELLO_ANSWER_SPACING_MS) {
      peer.answeredAt = now;
      this.sendHello(from, peer, false);
    }
    if (peer.proven) return;
    peer.proven = true;
    peer.expired = false;
    this.clearPeerTimers(peer);
    this.feed({ type: "member-joined", member: { participantId: from, seq: peer.seq } });
    this.rosterChanged();
  }

  private onEnvelope(from: string, payload: string): void {
    let bytes: Uint8Array;
    try {
      bytes = fromBase64url(payload);
    } catch {
      this.counters.envelopesRejected += 1;
      return;
    }
    if (isHello(bytes)) {
      this.onHello(from, bytes);
      return;
    }
    const member = this.members.get(from);
    let message: KeyMessageBody;
    try {
      if (!member?.proven)
        throw new Error("envelope from a participant not on the verified roster");
      const opened = member.channel.open(bytes);
      message = decodeKeyMessage(opened.plaintext);
      if (message.epoch !== opened.epoch)
        throw new Error("inner epoch differs from the envelope's");
    } catch {
      this.counters.envelopesRejected += 1;
      return;
    }
    this.feed({ type: "key-message", from, message });
  }

  private onBroadcast(from: string, payload: string): void {
    const member = this.members.get(from);
    let event: ScheduleEvent;
    try {
      if (!member?.proven)
        throw new Error("broadcast from a participant not on the verified roster");
      const body = verifyBroadcast(
        this.roomId,
        from,
        member.announcement.ed25519PublicKey,
        fromBase64url(payload),
      );
      event = { type: "broadcast", from, body };
    } catch {
      this.counters.broadcastsRejected += 1;
      return;
    }
    this.feed(event);
  }

  private onGrant(grant: LiveKitGrant): void {
    this.grant = grant;
    this.emitter.emit("grant", grant);
    for (const waiter of this.tokenWaiters.splice(0)) waiter.resolve(grant);
  }

  private onStatus(state: ConnectionState): void {
    this.connection = state;
    this.emitter.emit("connection", state);
    if (state.status === "closed") {
      const error = new Error(state.error?.message ?? "session closed");
      for (const waiter of this.joinWaiters.splice(0)) waiter.reject(error);
      for (const waiter of this.tokenWaiters.splice(0)) waiter.reject(error);
    }
  }

  private onLost(): void {
    this.feed({ type: "reset" });
    // No membership, no key: the media layer must stop sending until the rejoin brings a new one.
    if (this.sending.epoch !== 0) {
      this.sending = { epoch: 0, at: this.clock.now() };
      this.emitter.emit("sending", this.sending);
    }
    this.selfSeq = undefined;
    this.clearPeers();
    this.unverified.clear();
    this.grant = undefined;
    this.rosterChanged();
  }

  // ---- the key schedule's actions ----

  /**
   * Hands one event to the schedule and carries out its actions. A failure in either is counted and
   * contained: the wake timer is armed again whatever happened, so the leader's rotations and every
   * member's lock-out deadlines keep running (an exception must never stop the timers).
   */
  private feed(event: ScheduleEvent): void {
    try {
      this.carryOut(this.schedule.handle(event, this.clock.now()));
    } catch {
      this.counters.scheduleErrors += 1;
    } finally {
      this.armWakeTimer();
    }
  }

  private armWakeTimer(): void {
    if (this.wakeTimer !== undefined) this.clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    const at = this.schedule.nextWakeAt();
    if (at === undefined) return;
    this.wakeTimer = this.clock.setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.feed({ type: "tick" });
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  private carryOut(actions: readonly ScheduleAction[]): void {
    const now = this.clock.now();
    const outgoing: { to: string; payload: string }[] = [];
    const added: number[] = [];
    const removed: number[] = [];
    let switched = false;
    for (const action of actions) {
      switch (action.type) {
        case "send": {
          const member = this.members.get(action.to);
          if (!member?.proven) break;
          const sealed = member.channel.seal(
            action.message.epoch,
            encodeKeyMessage(action.message),
            this.random,
          );
          outgoing.push({ to: action.to, payload: toBase64url(sealed) });
          this.counters.envelopesSent[envelopeKindOf(action.message)] += 1;
          break;
        }
        case "broadcast": {
          this.flush(outgoing);
          const signed = signBroadcast(
            this.roomId,
            this.participantId,
            this.keyPairs.ed25519.secretKey,
            action.body,
          );
          if (this.signalling.broadcast(toBase64url(signed))) {
            this.counters.broadcastsSent[action.body.kind satisfies BroadcastKind] += 1;
          }
          break;
        }
        case "install":
          this.installed.set(action.epoch, action.groupKey);
          added.push(action.epoch);
          this.emitter.emit("metric", { type: "key-in-hand", epoch: action.epoch, at: now });
          break;
        case "retire":
          this.installed.delete(action.epoch);
          removed.push(action.epoch);
          break;
        case "switch":
          this.sending = { epoch: action.epoch, at: now };
          switched = true;
          this.emitter.emit("metric", { type: "switch", epoch: action.epoch, at: now });
          break;
        case "rotation":
          this.emitter.emit("metric", {
            type: "rotation",
            epoch: action.epoch,
            fresh: action.fresh,
            reason: action.reason,
            recipients: action.recipients,
            at: now,
          });
          break;
        case "commit":
          this.emitter.emit("metric", {
            type: "commit",
            epoch: action.epoch,
            acked: action.acked,
            timedOut: action.timedOut,
            at: now,
          });
          break;
        default:
          assertNever(action);
      }
    }
    this.flush(outgoing);
    if (added.length > 0 || removed.length > 0) {
      this.emitter.emit("keys", {
        epochs: [...this.installed.keys()].sort((a, b) => a - b),
        added: added.filter((epoch) => this.installed.has(epoch)),
        removed: removed.filter((epoch) => !this.installed.has(epoch)),
      });
    }
    if (switched) this.emitter.emit("sending", this.sending);
  }

  /** Sends the envelopes gathered so far in one frame, before anything that must follow them. */
  private flush(outgoing: { to: string; payload: string }[]): void {
    if (outgoing.length === 0) return;
    this.flushHellos();
    this.signalling.send(outgoing.splice(0));
  }

  private roster(): RosterEntry[] {
    const leader = this.schedule.leaderId();
    const proven = [...this.members].filter(([, member]) => member.proven);
    const entries: RosterEntry[] = proven.map(([participantId, member]) => ({
      participantId,
      seq: member.seq,
      displayName: member.announcement.displayName,
      verified: true,
      leader: participantId === leader,
      self: false,
    }));
    if (this.selfSeq !== undefined) {
      entries.push({
        participantId: this.participantId,
        seq: this.selfSeq,
        displayName: this.options.displayName,
        verified: true,
        leader: this.participantId === leader,
        self: true,
      });
    }
    return entries.sort((a, b) => a.seq - b.seq);
  }

  private rosterChanged(): void {
    const roster = this.roster();
    this.emitter.emit("roster", {
      roster,
      unverified: this.unverifiedIds(),
      pending: this.pendingIds(),
      conflicts: [...this.conflicts],
    });
    // The code commits to the verified roster only: most roster events (a joiner still proving
    // itself, an unverified id) leave it as it is, and hashing the whole roster again for each of
    // them costs a big call real time.
    const codeRoster = roster.map((entry) => `${entry.participantId}:${entry.seq}`).join(" ");
    if (codeRoster === this.securityCodeRoster) return;
    this.securityCodeRoster = codeRoster;
    const code =
      this.selfSeq === undefined
        ? ""
        : securityCodeOf(this.options.secret, [
            {
              participantId: this.participantId,
              x25519PublicKey: this.keyPairs.x25519.publicKey,
              ed25519PublicKey: this.keyPairs.ed25519.publicKey,
            },
            ...[...this.members]
              .filter(([, member]) => member.proven)
              .map(([participantId, member]) => ({
                participantId,
                x25519PublicKey: member.announcement.x25519PublicKey,
                ed25519PublicKey: member.announcement.ed25519PublicKey,
              })),
          ]);
    if (code !== this.securityCode) {
      this.securityCode = code;
      this.emitter.emit("securityCode", code);
    }
  }

  private youngestVerifiedSeq(): number {
    let youngest = this.selfSeq ?? 0;
    for (const member of this.members.values()) {
      if (member.proven && member.seq > youngest) youngest = member.seq;
    }
    return youngest;
  }

  private pendingIds(): string[] {
    return [...this.members]
      .filter(([, member]) => !member.proven && !member.expired)
      .map(([id]) => id);
  }

  /** Refused announcements, plus peers that did not prove their liveness in time. */
  private unverifiedIds(): string[] {
    const expired = [...this.members].filter(([, m]) => m.expired).map(([id]) => id);
    return [...new Set([...this.unverified.keys(), ...expired])];
  }
}

function announcementDigest(bytes: Uint8Array): string {
  return toBase64url(sha256(bytes));
}
