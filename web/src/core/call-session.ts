// The one object a client (browser tab, Node load generator, test) holds per call. It composes the
// parts and exposes plain observable state: the signalling client (signalling-client.ts), the
// verified roster with its liveness hellos (verified-roster.ts), the key transport over envelopes
// and broadcasts (key-transport.ts) and the key schedule (key-schedule.ts), which it feeds and whose
// actions it carries out. All crypto stays inside; the media layer asks for sender keys by epoch.
import type { LiveKitGrant, Member } from "../../../protocol/signalling.js";
import { createAnnouncement } from "./announcement.js";
import { assertNever } from "../../../protocol/guards.js";
import { fromBase64url, toBase64url } from "./base64url.js";
import { ChatChannel } from "./chat.js";
import { isChatMessage, type Reaction } from "./chat-message.js";
import { type CallContext, callContextOf, generateCallKeyPairs } from "./call-keys.js";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import { Emitter, type Unsubscribe } from "./emitter.js";
import { type CallSecret, keyCheckOf, participantIdOf, senderKeyOf } from "./identifiers.js";
import { KeySchedule } from "./key-schedule.js";
import { KeyTransport, type Unicast } from "./key-transport.js";
import type { OwnIncarnation } from "./peer.js";
import { type Random, systemRandom } from "./random.js";
import {
  DEFAULT_SCHEDULE_CONFIG,
  type ScheduleAction,
  type ScheduleConfig,
  type ScheduleEvent,
} from "./schedule-types.js";
import { securityCodeOf } from "./security-code.js";
import { createSessionCounters } from "./session-counters.js";
import type {
  CallSessionEvents,
  CallSessionState,
  ConnectionState,
  SendingState,
  SessionMetrics,
} from "./session-types.js";
import {
  DEFAULT_RECONNECT_POLICY,
  type ReconnectPolicy,
  SignallingClient,
  type SocketConstructor,
} from "./signalling-client.js";
import { VerifiedRoster } from "./verified-roster.js";

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

/** Builds the room WebSocket URL from a Worker origin such as "https://hush.example". */
export function roomSocketUrl(workerOrigin: string, roomId: string): string {
  const url = new URL(workerOrigin);
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  url.pathname = `/v1/rooms/${roomId}/ws`;
  url.search = "";
  url.hash = "";
  return url.toString();
}

export class CallSession {
  readonly roomId: string;
  readonly participantId: string;
  private readonly context: CallContext;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly schedule: KeySchedule;
  private readonly signalling: SignallingClient;
  private readonly roster: VerifiedRoster;
  private readonly transport: KeyTransport;
  private readonly chat: ChatChannel;
  private readonly emitter = new Emitter<CallSessionEvents>();
  /** Our key pairs and announcement on the current connection (renewed by each join request). */
  private readonly own: OwnIncarnation;
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
  private wakeTimer: TimerHandle | undefined;
  private joinWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private tokenWaiters: { resolve: (grant: LiveKitGrant) => void; reject: (e: Error) => void }[] =
    [];
  private readonly counters = createSessionCounters();

  constructor(private readonly options: CallSessionOptions) {
    this.context = callContextOf(options.secret);
    this.roomId = this.context.roomId;
    this.participantId = participantIdOf(options.secret, options.userId, options.deviceId);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.own = {
      keyPairs: generateCallKeyPairs(this.random, this.counters.curveOps),
      announcement: new Uint8Array(),
    };
    // Fail early (and clearly) on a display name the announcement cannot carry.
    createAnnouncement(
      this.context,
      this.participantId,
      this.own.keyPairs,
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
        memberJoined: (member) => this.roster.memberJoined(member),
        memberLeft: (participantId, seq) => this.roster.memberLeft(participantId, seq),
        message: (from, payload) => this.onEnvelope(from, payload),
        broadcast: (from, payload) => this.onBroadcast(from, payload),
        token: (grant) => this.onGrant(grant),
        serverError: () => {},
        status: (status, error) => this.onStatus({ status, ...(error ? { error } : {}) }),
        lost: () => this.onLost(),
      },
      { ...DEFAULT_RECONNECT_POLICY, ...options.reconnect },
    );
    this.roster = new VerifiedRoster({
      context: this.context,
      participantId: this.participantId,
      displayName: options.displayName,
      clock: this.clock,
      own: this.own,
      counters: this.counters,
      feed: (event) => this.feed(event),
      changed: () => this.rosterChanged(),
      sendHellos: (hellos) => this.signalling.send(hellos),
    });
    this.transport = new KeyTransport({
      roomId: this.roomId,
      participantId: this.participantId,
      random: this.random,
      own: this.own,
      counters: this.counters,
      roster: this.roster,
      send: (messages) => this.signalling.send(messages),
      broadcast: (payload) => this.signalling.broadcast(payload),
    });
    this.chat = new ChatChannel({
      parties: { roomId: this.roomId, senderId: this.participantId },
      displayName: options.displayName,
      clock: this.clock,
      random: this.random,
      own: this.own,
      counters: this.counters,
      roster: this.roster,
      groupKey: (epoch) => this.installed.get(epoch),
      installedEpochs: () => [...this.installed.keys()],
      sendingEpoch: () => this.sending.epoch,
      broadcast: (payload) => this.signalling.broadcast(payload),
      changed: {
        log: (entries) => this.emitter.emit("chat", entries),
        reaction: (reaction) => this.emitter.emit("reaction", reaction),
        hands: (raised) => this.emitter.emit("hands", raised),
      },
    });
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
      roster: this.roster.entries(this.schedule.leaderId()),
      unverified: this.roster.unverifiedIds(),
      pending: this.roster.pendingIds(),
      conflicts: this.roster.conflictIds(),
      grant: this.grant,
      sending: this.sending,
      keys: [...this.installed.keys()].sort((a, b) => a - b),
      securityCode: this.securityCode,
      chat: this.chat.log(),
      hands: this.chat.raisedHands(),
    };
  }

  /** K_{e,P} for an installed epoch, or undefined when this client holds no key for `epoch`. */
  senderKey(epoch: number, participantId: string): Uint8Array | undefined {
    const groupKey = this.installed.get(epoch);
    return groupKey ? senderKeyOf(groupKey, participantId) : undefined;
  }

  /**
   * The public check of an installed epoch's key (keyCheckOf, as commits carry it), base64url; the
   * media worker names its replay windows by it, so that the same key bytes always meet the same
   * windows. Undefined when this client holds no key for `epoch`.
   */
  keyCheck(epoch: number): string | undefined {
    const groupKey = this.installed.get(epoch);
    return groupKey ? toBase64url(keyCheckOf(groupKey)) : undefined;
  }

  /**
   * Sends a chat line under the current sending epoch (docs/chat.md); queued until there is one.
   * False when it is empty, longer than 2,000 characters, or the outbox is full.
   */
  sendChat(text: string): boolean {
    return this.chat.sendText(text);
  }

  /** Sends a reaction to everyone; false when there is no key to send with right now. */
  react(emoji: Reaction): boolean {
    return this.chat.react(emoji);
  }

  /** Raises or lowers this member's hand. */
  setHand(up: boolean): void {
    this.chat.setHand(up);
  }

  /** True when `participantId` is on the verified roster (LiveKit identities not on it are intruders). */
  isVerified(participantId: string): boolean {
    return this.roster.isVerified(participantId);
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
    this.own.keyPairs = generateCallKeyPairs(this.random, this.counters.curveOps);
    const announcement = createAnnouncement(
      this.context,
      this.participantId,
      this.own.keyPairs,
      this.options.displayName,
      this.random,
    );
    this.own.announcement = announcement;
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
    this.roster.welcome(seq, members);
    this.grant = grant;
    this.emitter.emit("grant", grant);
    this.feed({
      type: "joined",
      self: { participantId: this.participantId, seq },
      members: [],
      pending: this.roster.incarnations(),
    });
    this.rosterChanged();
    for (const waiter of this.joinWaiters.splice(0)) waiter.resolve();
    return true;
  }

  private onEnvelope(from: string, payload: string): void {
    const message = this.transport.receive(from, payload);
    if (message) this.feed({ type: "key-message", from, message });
  }

  /** A broadcast is a chat message (chat.ts) or one of the leader's (key-transport.ts). */
  private onBroadcast(from: string, payload: string): void {
    let bytes: Uint8Array | undefined;
    try {
      bytes = fromBase64url(payload);
    } catch {
      bytes = undefined;
    }
    if (bytes && isChatMessage(bytes)) {
      this.chat.receive(from, bytes);
      return;
    }
    const body = this.transport.receiveBroadcast(from, bytes);
    if (body) this.feed({ type: "broadcast", from, body });
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
    this.roster.lost();
    this.chat.lost();
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
    const outgoing: Unicast[] = [];
    const added: number[] = [];
    const removed: number[] = [];
    let switched = false;
    for (const action of actions) {
      switch (action.type) {
        case "send": {
          const envelope = this.transport.seal(action.to, action.message);
          if (envelope) outgoing.push(envelope);
          break;
        }
        case "broadcast":
          this.transport.send(outgoing);
          this.transport.broadcast(action.body);
          break;
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
    this.transport.send(outgoing);
    if (added.length > 0 || removed.length > 0) {
      this.emitter.emit("keys", {
        epochs: [...this.installed.keys()].sort((a, b) => a - b),
        added: added.filter((epoch) => this.installed.has(epoch)),
        removed: removed.filter((epoch) => !this.installed.has(epoch)),
      });
      this.chat.keysChanged();
    }
    if (switched) {
      this.emitter.emit("sending", this.sending);
      this.chat.sendingChanged(this.sending.epoch);
    }
  }

  private rosterChanged(): void {
    this.chat.rosterChanged();
    const roster = this.roster.entries(this.schedule.leaderId());
    this.emitter.emit("roster", {
      roster,
      unverified: this.roster.unverifiedIds(),
      pending: this.roster.pendingIds(),
      conflicts: this.roster.conflictIds(),
    });
    // The code commits to the verified roster only: most roster events (a joiner still proving
    // itself, an unverified id) leave it as it is, and hashing the whole roster again for each of
    // them costs a big call real time.
    const codeRoster = roster.map((entry) => `${entry.participantId}:${entry.seq}`).join(" ");
    if (codeRoster === this.securityCodeRoster) return;
    this.securityCodeRoster = codeRoster;
    const code =
      this.roster.selfSeq === undefined
        ? ""
        : securityCodeOf(this.options.secret, [
            {
              participantId: this.participantId,
              x25519PublicKey: this.own.keyPairs.x25519.publicKey,
              ed25519PublicKey: this.own.keyPairs.ed25519.publicKey,
            },
            ...this.roster.verifiedKeys(),
          ]);
    if (code !== this.securityCode) {
      this.securityCode = code;
      this.emitter.emit("securityCode", code);
    }
  }
}
